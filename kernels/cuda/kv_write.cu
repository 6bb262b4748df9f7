// Writes each token's new keys and values into its slot of the paged KV cache, one thread per
// element (grid-stride):
//   k_cache[block][h][offset][d] <- k[t][h][d], v likewise,
// where slots[t] = block * block_size + offset. A slot outside the cache (negative, or a block
// at or past num_blocks) is skipped, so no value read from the device can write out of bounds.
// k, v: [tokens, n_kv_heads, head_dim]; k_cache, v_cache: [num_blocks, n_kv_heads, block_size,
// head_dim]; slots: [tokens].

template <typename T>
__device__ void kv_write(const T* k, const T* v, T* k_cache, T* v_cache, const int* slots,
                         int tokens, int n_kv_heads, int head_dim, int block_size,
                         int num_blocks) {
    const long long width = (long long)n_kv_heads * head_dim;
    const long long n = (long long)tokens * width;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        const int t = (int)(i / width);
        const int h = (int)((i % width) / head_dim);
        const int d = (int)(i % head_dim);
        const int slot = slots[t];
        if (slot < 0) continue;
        const int block = slot / block_size;
        if (block >= num_blocks) continue;
        const int offset = slot % block_size;
        const long long at = (((long long)block * n_kv_heads + h) * block_size + offset) * head_dim + d;
        k_cache[at] = k[i];
        v_cache[at] = v[i];
    }
}

// x[r][c] <- x[r][c] + bias[c] for rows x cols, one thread per element (grid-stride).
template <typename T>
__device__ void add_bias(T* x, const T* bias, int rows, int cols) {
    const long long n = (long long)rows * cols;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        cb_store(&x[i], cb_load(x[i]) + cb_load(bias[i % cols]));
    }
}

extern "C" __global__ void kv_write_f32(const float* k, const float* v, float* k_cache, float* v_cache,
                                      const int* slots, int tokens, int n_kv_heads, int head_dim,
                                      int block_size, int num_blocks) {
    kv_write<float>(k, v, k_cache, v_cache, slots, tokens, n_kv_heads, head_dim, block_size, num_blocks);
}
extern "C" __global__ void add_bias_f32(float* x, const float* bias, int rows, int cols) {
    add_bias<float>(x, bias, rows, cols);
}

extern "C" __global__ void kv_write_f16(const cb_f16* k, const cb_f16* v, cb_f16* k_cache, cb_f16* v_cache,
                                      const int* slots, int tokens, int n_kv_heads, int head_dim,
                                      int block_size, int num_blocks) {
    kv_write<cb_f16>(k, v, k_cache, v_cache, slots, tokens, n_kv_heads, head_dim, block_size, num_blocks);
}
extern "C" __global__ void add_bias_f16(cb_f16* x, const cb_f16* bias, int rows, int cols) {
    add_bias<cb_f16>(x, bias, rows, cols);
}

extern "C" __global__ void kv_write_bf16(const cb_bf16* k, const cb_bf16* v, cb_bf16* k_cache, cb_bf16* v_cache,
                                      const int* slots, int tokens, int n_kv_heads, int head_dim,
                                      int block_size, int num_blocks) {
    kv_write<cb_bf16>(k, v, k_cache, v_cache, slots, tokens, n_kv_heads, head_dim, block_size, num_blocks);
}
extern "C" __global__ void add_bias_bf16(cb_bf16* x, const cb_bf16* bias, int rows, int cols) {
    add_bias<cb_bf16>(x, bias, rows, cols);
}
