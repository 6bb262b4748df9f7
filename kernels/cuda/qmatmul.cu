// Batched quantized matmul for decode: y[r][n] = sum_k x[r][k] * W[n][k] for up to
// CB_QMATMUL_MAX_ROWS rows, reading each weight block once for all rows.
// W: [n, k] in GGUF blocks of 32 values, row after row (k a multiple of 32);
// x: [rows, k]; y: [rows, n]. One warp per output column (grid-stride over columns); the lanes
// of a warp take the blocks of the column in turn and reduce with shuffles.
// Formats: Q8_0 (34 bytes: f16 d, 32 x i8; v = d q) and Q4_1 (20 bytes: f16 d, f16 m,
// 16 bytes of nibbles; value j is the low nibble of byte j, value j + 16 the high one; v = d q + m).

#define CB_QMATMUL_MAX_ROWS 8

struct cb_q8_0 {
    static const int bytes = 34;
    __device__ static void values(const unsigned char* block, float* v) {
        const float d = cb_f16_at(block);
        for (int j = 0; j < 32; ++j) v[j] = d * (float)(signed char)block[2 + j];
    }
};

struct cb_q4_1 {
    static const int bytes = 20;
    __device__ static void values(const unsigned char* block, float* v) {
        const float d = cb_f16_at(block);
        const float m = cb_f16_at(block + 2);
        for (int j = 0; j < 16; ++j) {
            const unsigned char q = block[4 + j];
            v[j] = d * (float)(q & 0x0f) + m;
            v[j + 16] = d * (float)(q >> 4) + m;
        }
    }
};

template <typename Q, typename T>
__device__ void qmatmul(const unsigned char* w, const T* x, T* y, int rows, int n, int k) {
    const int lane = threadIdx.x & 31;
    const int warps_per_block = blockDim.x >> 5;
    const int blocks_per_row = k / 32;
    for (int column = blockIdx.x * warps_per_block + (threadIdx.x >> 5); column < n;
         column += gridDim.x * warps_per_block) {
        float acc[CB_QMATMUL_MAX_ROWS];
        for (int r = 0; r < CB_QMATMUL_MAX_ROWS; ++r) acc[r] = 0.0f;
        const unsigned char* weight_row = w + (size_t)column * blocks_per_row * Q::bytes;
        for (int b = lane; b < blocks_per_row; b += 32) {
            float v[32];
            Q::values(weight_row + (size_t)b * Q::bytes, v);
            for (int r = 0; r < CB_QMATMUL_MAX_ROWS; ++r) {
                if (r < rows) {
                    const T* xr = x + (size_t)r * k + (size_t)b * 32;
                    float dot = 0.0f;
                    for (int j = 0; j < 32; ++j) dot += v[j] * cb_load(xr[j]);
                    acc[r] += dot;
                }
            }
        }
        for (int r = 0; r < CB_QMATMUL_MAX_ROWS; ++r) {
            if (r < rows) {
                const float total = cb_warp_sum(acc[r]);
                if (lane == 0) cb_store(&y[(size_t)r * n + column], total);
            }
        }
    }
}

extern "C" __global__ void qmatmul_q8_0_f32(const unsigned char* w, const float* x, float* y, int rows, int n, int k) {
    qmatmul<cb_q8_0, float>(w, x, y, rows, n, k);
}
extern "C" __global__ void qmatmul_q8_0_f16(const unsigned char* w, const cb_f16* x, cb_f16* y, int rows, int n, int k) {
    qmatmul<cb_q8_0, cb_f16>(w, x, y, rows, n, k);
}
extern "C" __global__ void qmatmul_q8_0_bf16(const unsigned char* w, const cb_bf16* x, cb_bf16* y, int rows, int n,
                                             int k) {
    qmatmul<cb_q8_0, cb_bf16>(w, x, y, rows, n, k);
}
extern "C" __global__ void qmatmul_q4_1_f32(const unsigned char* w, const float* x, float* y, int rows, int n, int k) {
    qmatmul<cb_q4_1, float>(w, x, y, rows, n, k);
}
extern "C" __global__ void qmatmul_q4_1_f16(const unsigned char* w, const cb_f16* x, cb_f16* y, int rows, int n, int k) {
    qmatmul<cb_q4_1, cb_f16>(w, x, y, rows, n, k);
}
extern "C" __global__ void qmatmul_q4_1_bf16(const unsigned char* w, const cb_bf16* x, cb_bf16* y, int rows, int n,
                                             int k) {
    qmatmul<cb_q4_1, cb_bf16>(w, x, y, rows, n, k);
}
