// Prelude prepended to every kernel source before NVRTC compiles it: storage types for f16 and
// bf16 (no CUDA headers are needed, so libnvrtc alone is enough), conversions through f32, and
// block-wide reductions. Every kernel computes in f32 and stores in its dtype.

struct cb_f16 { unsigned short bits; };
struct cb_bf16 { unsigned short bits; };

#define CB_NEG_INF __int_as_float(0xff800000)

__device__ __forceinline__ float cb_load(float v) { return v; }
__device__ __forceinline__ float cb_load(cb_f16 v) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v.bits));
    return f;
}
__device__ __forceinline__ float cb_load(cb_bf16 v) {
    return __uint_as_float(((unsigned int)v.bits) << 16);
}

__device__ __forceinline__ void cb_store(float* p, float f) { *p = f; }
__device__ __forceinline__ void cb_store(cb_f16* p, float f) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    p->bits = h;
}
// Round to nearest even, NaN stays NaN.
__device__ __forceinline__ void cb_store(cb_bf16* p, float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        p->bits = 0x7fc0;
        return;
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    p->bits = (unsigned short)(u >> 16);
}

// The f16 stored little-endian at `p` (which may be unaligned), as f32.
__device__ __forceinline__ float cb_f16_at(const unsigned char* p) {
    cb_f16 h;
    h.bits = (unsigned short)(p[0] | (p[1] << 8));
    return cb_load(h);
}

__device__ __forceinline__ float cb_warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__device__ __forceinline__ float cb_warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Block-wide sum, returned to every thread. `scratch`: 32 floats of shared memory.
// blockDim.x must be a multiple of 32 and every thread of the block must call it.
__device__ float cb_block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int n_warps = blockDim.x >> 5;
    v = cb_warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return cb_warp_sum(lane < n_warps ? scratch[lane] : 0.0f);
}

// Block-wide max, returned to every thread; same contract as cb_block_sum.
__device__ float cb_block_max(float v, float* scratch) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int n_warps = blockDim.x >> 5;
    v = cb_warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return cb_warp_max(lane < n_warps ? scratch[lane] : CB_NEG_INF);
}
