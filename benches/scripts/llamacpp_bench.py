"""Decode speed of llama.cpp (through llama-cpp-python) for `codebegen bench inference`.

Usage: python3 llamacpp_bench.py '{"model": PATH, "prompt": [ids], "decode_tokens": N, "threads": 2}'

Runs one stream, greedy, on the given prompt token ids (the bench tokenizes once so every
contender sees the same ids). Prefill and the first sampled token are not timed; the N tokens
after it are. Prints one JSON object on stdout: {"tok_s", "prefill_s", "tokens", "version"} or
{"error": reason}. Exits 0 either way so the caller can report the reason.
"""

import json
import sys
import time


def decode(llm, prompt, n_decode):
    """Greedy-decodes n_decode + 1 tokens; returns (prefill seconds, decode seconds, tokens)."""
    tokens = []
    started = time.perf_counter()
    first = None
    for token in llm.generate(prompt, temp=0.0, top_k=1, top_p=1.0, min_p=0.0,
                              repeat_penalty=1.0, reset=True):
        tokens.append(int(token))
        if first is None:
            first = time.perf_counter()
        if len(tokens) == n_decode + 1:
            break
    ended = time.perf_counter()
    return first - started, ended - first, tokens


def main():
    args = json.loads(sys.argv[1])
    try:
        import llama_cpp
    except Exception as error:  # noqa: BLE001 - any import failure means "not available"
        print(json.dumps({"error": f"llama-cpp-python is not importable: {error}"}))
        return
    prompt = [int(t) for t in args["prompt"]]
    n_decode = int(args["decode_tokens"])
    threads = int(args.get("threads", 2))
    try:
        llm = llama_cpp.Llama(
            model_path=args["model"],
            n_ctx=len(prompt) + n_decode + 16,
            n_batch=max(32, len(prompt)),
            n_threads=threads,
            n_threads_batch=threads,
            seed=0,
            verbose=False,
        )
        decode(llm, prompt, 8)  # warm-up: page in the weights, first-call setup
        prefill_s, decode_s, tokens = decode(llm, prompt, n_decode)
    except Exception as error:  # noqa: BLE001 - report, don't crash the bench
        print(json.dumps({"error": f"llama.cpp failed: {error}"}))
        return
    print(json.dumps({
        "tok_s": n_decode / decode_s,
        "prefill_s": prefill_s,
        "tokens": tokens,
        "threads": threads,
        "version": getattr(llama_cpp, "__version__", "unknown"),
    }))


if __name__ == "__main__":
    main()
