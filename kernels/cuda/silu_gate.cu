// Fused SiLU-gate multiply, one thread per element (grid-stride):
//   out[i] <- silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)).
// gate, up, out: [n] (any shape, contiguous).

template <typename T>
__device__ void silu_gate(const T* gate, const T* up, T* out, long long n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        const float g = cb_load(gate[i]);
        cb_store(&out[i], g / (1.0f + expf(-g)) * cb_load(up[i]));
    }
}

extern "C" __global__ void silu_gate_f32(const float* gate, const float* up, float* out, long long n) {
    silu_gate<float>(gate, up, out, n);
}
extern "C" __global__ void silu_gate_f16(const cb_f16* gate, const cb_f16* up, cb_f16* out, long long n) {
    silu_gate<cb_f16>(gate, up, out, n);
}
extern "C" __global__ void silu_gate_bf16(const cb_bf16* gate, const cb_bf16* up, cb_bf16* out, long long n) {
    silu_gate<cb_bf16>(gate, up, out, n);
}
