// RMSNorm fused with the residual add, one block per row (grid-stride over rows):
//   residual[r] <- residual[r] + x[r]            (stored in T, then read back)
//   out[r][i]   <- residual[r][i] * rsqrt(mean(residual[r]^2) + eps) * weight[i]
// x, residual, out: [rows, dim]; weight: [dim].

template <typename T>
__device__ void rmsnorm_residual(const T* x, T* residual, const T* weight, T* out, int rows, int dim,
                                 float eps) {
    __shared__ float scratch[32];
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* x_row = x + (size_t)row * dim;
        T* residual_row = residual + (size_t)row * dim;
        T* out_row = out + (size_t)row * dim;
        float squares = 0.0f;
        for (int i = threadIdx.x; i < dim; i += blockDim.x) {
            cb_store(&residual_row[i], cb_load(x_row[i]) + cb_load(residual_row[i]));
            const float h = cb_load(residual_row[i]);
            squares += h * h;
        }
        const float total = cb_block_sum(squares, scratch);
        const float inv_rms = rsqrtf(total / (float)dim + eps);
        for (int i = threadIdx.x; i < dim; i += blockDim.x) {
            cb_store(&out_row[i], cb_load(residual_row[i]) * inv_rms * cb_load(weight[i]));
        }
    }
}

extern "C" __global__ void rmsnorm_residual_f32(const float* x, float* residual, const float* weight,
                                                float* out, int rows, int dim, float eps) {
    rmsnorm_residual<float>(x, residual, weight, out, rows, dim, eps);
}
extern "C" __global__ void rmsnorm_residual_f16(const cb_f16* x, cb_f16* residual, const cb_f16* weight,
                                                cb_f16* out, int rows, int dim, float eps) {
    rmsnorm_residual<cb_f16>(x, residual, weight, out, rows, dim, eps);
}
extern "C" __global__ void rmsnorm_residual_bf16(const cb_bf16* x, cb_bf16* residual, const cb_bf16* weight,
                                                 cb_bf16* out, int rows, int dim, float eps) {
    rmsnorm_residual<cb_bf16>(x, residual, weight, out, rows, dim, eps);
}
