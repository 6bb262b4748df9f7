// Paged-attention decode: one query token per sequence against the block-table KV cache of the
// inference engine. One block per (head, sequence): grid (n_heads, batch).
// q: [batch, n_heads, head_dim]; out: [batch, n_heads, head_dim];
// k_cache, v_cache: [num_blocks, n_kv_heads, block_size, head_dim] (the engine's layout);
// block_tables: [batch, max_blocks_per_seq]; context_lens: [batch].
// Position p of sequence s is at block block_tables[s][p / block_size], offset p % block_size.
// Query head h reads KV head h / (n_heads / n_kv_heads) (grouped-query attention).
// Dynamic shared memory: (head_dim + max_context) floats. A context is cut to max_context and to
// max_blocks_per_seq * block_size positions; a block index outside [0, num_blocks) contributes
// nothing, so no table or length read from the device can make the kernel read out of bounds.

// The row of position t in a cache, or null when its block index is out of range.
template <typename T>
__device__ __forceinline__ const T* cb_cache_row(const T* cache, const int* table, int t, int num_blocks,
                                                 int n_kv_heads, int kv_head, int block_size, int head_dim) {
    const int block = table[t / block_size];
    if (block < 0 || block >= num_blocks) return 0;
    return cache + (((size_t)block * n_kv_heads + kv_head) * block_size + t % block_size) * head_dim;
}

template <typename T>
__device__ void paged_attention_decode(const T* q, const T* k_cache, const T* v_cache, const int* block_tables,
                                       const int* context_lens, T* out, int n_heads, int n_kv_heads, int head_dim,
                                       int block_size, int max_blocks_per_seq, int num_blocks, int max_context,
                                       float scale) {
    extern __shared__ float shared[];
    __shared__ float scratch[32];
    float* query = shared;
    float* scores = shared + head_dim;
    const int head = blockIdx.x;
    const int seq = blockIdx.y;
    const int kv_head = head / (n_heads / n_kv_heads);
    const int context = max(0, min(context_lens[seq], min(max_context, max_blocks_per_seq * block_size)));
    const int* table = block_tables + (size_t)seq * max_blocks_per_seq;
    const T* q_head = q + ((size_t)seq * n_heads + head) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) query[d] = cb_load(q_head[d]) * scale;
    __syncthreads();

    float local_max = CB_NEG_INF;
    for (int t = threadIdx.x; t < context; t += blockDim.x) {
        const T* key = cb_cache_row(k_cache, table, t, num_blocks, n_kv_heads, kv_head, block_size, head_dim);
        float dot = CB_NEG_INF;
        if (key) {
            dot = 0.0f;
            for (int d = 0; d < head_dim; ++d) dot += query[d] * cb_load(key[d]);
        }
        scores[t] = dot;
        local_max = fmaxf(local_max, dot);
    }
    const float max_score = cb_block_max(local_max, scratch);
    float local_sum = 0.0f;
    for (int t = threadIdx.x; t < context; t += blockDim.x) {
        const float e = scores[t] == CB_NEG_INF ? 0.0f : expf(scores[t] - max_score);
        scores[t] = e;
        local_sum += e;
    }
    const float total = cb_block_sum(local_sum, scratch);
    const float inv_total = total > 0.0f ? 1.0f / total : 0.0f;

    T* out_head = out + ((size_t)seq * n_heads + head) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float acc = 0.0f;
        for (int t = 0; t < context; ++t) {
            const T* value = cb_cache_row(v_cache, table, t, num_blocks, n_kv_heads, kv_head, block_size, head_dim);
            if (value) acc += scores[t] * cb_load(value[d]);
        }
        cb_store(&out_head[d], acc * inv_total);
    }
}

extern "C" __global__ void paged_attention_decode_f32(const float* q, const float* k_cache, const float* v_cache,
                                                      const int* block_tables, const int* context_lens, float* out,
                                                      int n_heads, int n_kv_heads, int head_dim, int block_size,
                                                      int max_blocks_per_seq, int num_blocks, int max_context,
                                                      float scale) {
    paged_attention_decode<float>(q, k_cache, v_cache, block_tables, context_lens, out, n_heads, n_kv_heads,
                                  head_dim, block_size, max_blocks_per_seq, num_blocks, max_context, scale);
}
extern "C" __global__ void paged_attention_decode_f16(const cb_f16* q, const cb_f16* k_cache, const cb_f16* v_cache,
                                                      const int* block_tables, const int* context_lens, cb_f16* out,
                                                      int n_heads, int n_kv_heads, int head_dim, int block_size,
                                                      int max_blocks_per_seq, int num_blocks, int max_context,
                                                      float scale) {
    paged_attention_decode<cb_f16>(q, k_cache, v_cache, block_tables, context_lens, out, n_heads, n_kv_heads,
                                   head_dim, block_size, max_blocks_per_seq, num_blocks, max_context, scale);
}
extern "C" __global__ void paged_attention_decode_bf16(const cb_bf16* q, const cb_bf16* k_cache,
                                                       const cb_bf16* v_cache, const int* block_tables,
                                                       const int* context_lens, cb_bf16* out, int n_heads,
                                                       int n_kv_heads, int head_dim, int block_size,
                                                       int max_blocks_per_seq, int num_blocks, int max_context,
                                                      float scale) {
    paged_attention_decode<cb_bf16>(q, k_cache, v_cache, block_tables, context_lens, out, n_heads, n_kv_heads,
                                    head_dim, block_size, max_blocks_per_seq, num_blocks, max_context, scale);
}
