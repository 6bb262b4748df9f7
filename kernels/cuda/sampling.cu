// Batched sampling over the vocabulary, one block of CB_SAMPLE_THREADS threads per row
// (grid-stride over rows). For row r of logits [rows, vocab]:
// - temperature[r] <= 0: the argmax (lowest index among equal maxima);
// - otherwise weights w_i = exp((l_i - max) / temperature[r]), restricted to
//   1. top-k (top_k[r] > 0): logits >= the k-th largest logit (ties at the boundary are kept);
//   2. top-p (top_p[r] < 1): within that set, logits >= the largest cutoff c whose mass
//      (sum of w_i with l_i >= c) is at least top_p[r] times the set's mass;
//   then the token is the first kept index, in index order, where the running sum of w exceeds
//   uniform[r] times the kept mass (the last kept index if rounding leaves none).
// Cutoffs are found exactly by bisection over the order-preserving u32 key of the f32 logits.
// Logits must be finite. tokens: [rows] int.

#define CB_SAMPLE_THREADS 256

// Order-preserving map of f32 to u32: a < b exactly when key(a) < key(b).
__device__ __forceinline__ unsigned int cb_key(float f) {
    const unsigned int u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

template <typename T>
__device__ float cb_mass_at_or_above(const T* logits, int vocab, unsigned int cutoff, float max_logit,
                                     float temperature, float* scratch) {
    float mass = 0.0f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        const float v = cb_load(logits[i]);
        if (cb_key(v) >= cutoff) mass += expf((v - max_logit) / temperature);
    }
    return cb_block_sum(mass, scratch);
}

template <typename T>
__device__ void sample(const T* logits, const float* temperature, const int* top_k, const float* top_p,
                       const float* uniform, int* tokens, int rows, int vocab) {
    __shared__ float scratch[32];
    __shared__ float best_value[CB_SAMPLE_THREADS];
    __shared__ int best_index[CB_SAMPLE_THREADS];
    __shared__ float chunk_mass[CB_SAMPLE_THREADS];
    __shared__ int chunk_last[CB_SAMPLE_THREADS];
    __shared__ int chosen_chunk;
    __shared__ float chosen_before;
    __shared__ float target_mass;
    const int tid = threadIdx.x;
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* l = logits + (size_t)row * vocab;

        float value = CB_NEG_INF;
        int index = 0x7fffffff;
        for (int i = tid; i < vocab; i += blockDim.x) {
            const float v = cb_load(l[i]);
            if (v > value || (v == value && i < index)) {
                value = v;
                index = i;
            }
        }
        best_value[tid] = value;
        best_index[tid] = index;
        __syncthreads();
        for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
            if (tid < stride) {
                const float other = best_value[tid + stride];
                const int other_index = best_index[tid + stride];
                if (other > best_value[tid] || (other == best_value[tid] && other_index < best_index[tid])) {
                    best_value[tid] = other;
                    best_index[tid] = other_index;
                }
            }
            __syncthreads();
        }
        const float max_logit = best_value[0];
        const int argmax = best_index[0];
        const float t = temperature[row];
        if (!(t > 0.0f)) {
            if (tid == 0) tokens[row] = argmax;
            __syncthreads();
            continue;
        }

        unsigned int cutoff = 0u;
        const unsigned int top_key = cb_key(max_logit);
        const int k = top_k[row];
        if (k > 0 && k < vocab) {
            unsigned int lo = 0u, hi = top_key;
            while (lo < hi) {
                const unsigned int mid = lo + (unsigned int)(((unsigned long long)hi - lo + 1ull) / 2ull);
                float count = 0.0f;
                for (int i = tid; i < vocab; i += blockDim.x) count += cb_key(cb_load(l[i])) >= mid ? 1.0f : 0.0f;
                if (cb_block_sum(count, scratch) >= (float)k) lo = mid; else hi = mid - 1u;
            }
            cutoff = lo;
        }
        const float p = top_p[row];
        if (p < 1.0f) {
            const float goal = p * cb_mass_at_or_above(l, vocab, cutoff, max_logit, t, scratch);
            unsigned int lo = cutoff, hi = top_key;
            while (lo < hi) {
                const unsigned int mid = lo + (unsigned int)(((unsigned long long)hi - lo + 1ull) / 2ull);
                if (cb_mass_at_or_above(l, vocab, mid, max_logit, t, scratch) >= goal) lo = mid; else hi = mid - 1u;
            }
            cutoff = lo;
        }

        const int chunk = (vocab + blockDim.x - 1) / blockDim.x;
        const int begin = tid * chunk;
        const int end = min(begin + chunk, vocab);
        float mass = 0.0f;
        int last = -1;
        for (int i = begin; i < end; ++i) {
            const float v = cb_load(l[i]);
            if (cb_key(v) >= cutoff) {
                mass += expf((v - max_logit) / t);
                last = i;
            }
        }
        chunk_mass[tid] = mass;
        chunk_last[tid] = last;
        __syncthreads();
        if (tid == 0) {
            float total = 0.0f;
            for (int c = 0; c < blockDim.x; ++c) total += chunk_mass[c];
            const float target = uniform[row] * total;
            float before = 0.0f;
            int chosen = -1;
            int fallback = -1;
            for (int c = 0; c < blockDim.x; ++c) {
                if (chunk_last[c] >= 0) fallback = chunk_last[c];
                if (chosen < 0 && chunk_mass[c] > 0.0f && before + chunk_mass[c] > target) {
                    chosen = c;
                    chosen_before = before;
                }
                if (chosen < 0) before += chunk_mass[c];
            }
            chosen_chunk = chosen;
            target_mass = target;
            if (chosen < 0) tokens[row] = fallback;
        }
        __syncthreads();
        if (tid == chosen_chunk) {
            float running = chosen_before;
            int token = last;
            for (int i = begin; i < end; ++i) {
                const float v = cb_load(l[i]);
                if (cb_key(v) >= cutoff) {
                    running += expf((v - max_logit) / t);
                    if (running > target_mass) {
                        token = i;
                        break;
                    }
                }
            }
            tokens[row] = token;
        }
        __syncthreads();
    }
}

extern "C" __global__ void sample_f32(const float* logits, const float* temperature, const int* top_k,
                                      const float* top_p, const float* uniform, int* tokens, int rows, int vocab) {
    sample<float>(logits, temperature, top_k, top_p, uniform, tokens, rows, vocab);
}
extern "C" __global__ void sample_f16(const cb_f16* logits, const float* temperature, const int* top_k,
                                      const float* top_p, const float* uniform, int* tokens, int rows, int vocab) {
    sample<cb_f16>(logits, temperature, top_k, top_p, uniform, tokens, rows, vocab);
}
extern "C" __global__ void sample_bf16(const cb_bf16* logits, const float* temperature, const int* top_k,
                                       const float* top_p, const float* uniform, int* tokens, int rows, int vocab) {
    sample<cb_bf16>(logits, temperature, top_k, top_p, uniform, tokens, rows, vocab);
}
