// Rotary embeddings in place on q and k, one thread per rotated pair (grid-stride).
// q: [tokens, n_heads, head_dim]; k: [tokens, n_kv_heads, head_dim]; positions: [tokens];
// cos, sin: [max_positions, head_dim / 2] in f32.
// interleaved != 0: pairs (2i, 2i + 1), the GGUF llama layout;
// interleaved == 0: pairs (i, i + head_dim / 2), the qwen2 (and Hugging Face llama) layout.
// Each pair (a, b) becomes (a cos - b sin, a sin + b cos). A position outside
// [0, max_positions) leaves its token unrotated rather than read past the tables.

template <typename T>
__device__ void rotary(T* q, T* k, const int* positions, const float* cos_table, const float* sin_table,
                       int tokens, int n_heads, int n_kv_heads, int head_dim, int interleaved, int max_positions) {
    const int half = head_dim / 2;
    const int heads = n_heads + n_kv_heads;
    const long long total = (long long)tokens * heads * half;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)gridDim.x * blockDim.x) {
        const int i = (int)(index % half);
        const long long rest = index / half;
        const int head = (int)(rest % heads);
        const int token = (int)(rest / heads);
        T* base = head < n_heads ? q + ((long long)token * n_heads + head) * head_dim
                                 : k + ((long long)token * n_kv_heads + (head - n_heads)) * head_dim;
        const int position = positions[token];
        if (position < 0 || position >= max_positions) continue;
        const long long angle = (long long)position * half + i;
        const float c = cos_table[angle];
        const float s = sin_table[angle];
        const int a = interleaved ? 2 * i : i;
        const int b = interleaved ? 2 * i + 1 : i + half;
        const float x0 = cb_load(base[a]);
        const float x1 = cb_load(base[b]);
        cb_store(&base[a], x0 * c - x1 * s);
        cb_store(&base[b], x0 * s + x1 * c);
    }
}

extern "C" __global__ void rotary_f32(float* q, float* k, const int* positions, const float* cos_table,
                                      const float* sin_table, int tokens, int n_heads, int n_kv_heads,
                                      int head_dim, int interleaved, int max_positions) {
    rotary<float>(q, k, positions, cos_table, sin_table, tokens, n_heads, n_kv_heads, head_dim, interleaved, max_positions);
}
extern "C" __global__ void rotary_f16(cb_f16* q, cb_f16* k, const int* positions, const float* cos_table,
                                      const float* sin_table, int tokens, int n_heads, int n_kv_heads,
                                      int head_dim, int interleaved, int max_positions) {
    rotary<cb_f16>(q, k, positions, cos_table, sin_table, tokens, n_heads, n_kv_heads, head_dim, interleaved, max_positions);
}
extern "C" __global__ void rotary_bf16(cb_bf16* q, cb_bf16* k, const int* positions, const float* cos_table,
                                       const float* sin_table, int tokens, int n_heads, int n_kv_heads,
                                       int head_dim, int interleaved, int max_positions) {
    rotary<cb_bf16>(q, k, positions, cos_table, sin_table, tokens, n_heads, n_kv_heads, head_dim, interleaved, max_positions);
}
