/*
 * Compiled inner loops of the bank indexes (matchers/bank_index.py), loaded with ctypes
 * by matchers/kernels.py and built by `make venv` (python -m matchers.kernels build).
 * Plain C99 with no Python headers: every array is passed as a pointer to numpy's
 * memory, every result written into buffers the caller allocated.
 *
 * Why compiled: multi-index hashing over 1.6 M codes is bound by memory latency (random
 * bucket reads), and numpy needs ~10 passes over intermediate arrays per query (bucket
 * bounds, positions, prefixes, popcounts...), each with its own fixed cost. Here a
 * query is three loops: bucket bounds with the bucket's first line prefetched, then
 * each bucket's codes read in order. The result is the same rows and distances; the
 * numpy path in bank_index.py stays as the reference and the fallback, and the tests
 * compare the two.
 */
#include <stdint.h>

/* Bumped whenever a signature below changes; kernels.py refuses a library that differs. */
int64_t lw_kernels_abi(void) { return 2; }

/* The source's SHA-256 prefix, set by the build (-DLW_SOURCE_HASH=...): kernels.py
 * refuses a library built from another version of this file. */
#ifndef LW_SOURCE_HASH
#define LW_SOURCE_HASH "unknown"
#endif
const char *lw_kernels_source(void) { return LW_SOURCE_HASH; }

/* The fingerprint of the CPU it was built for (-DLW_BUILD_CPU=..., kernels.cpu_id()):
 * -march=native code may not run on another CPU. */
#ifndef LW_BUILD_CPU
#define LW_BUILD_CPU "unknown"
#endif
const char *lw_kernels_cpu(void) { return LW_BUILD_CPU; }

/* How many iterations ahead the search loops prefetch (measured: 8-32 all similar). */
#define AHEAD 16

static inline int64_t popcount_xor(const uint64_t *a, const uint64_t *b, int64_t n)
{
    int64_t d = 0;
    for (int64_t k = 0; k < n; k++) d += __builtin_popcountll(a[k] ^ b[k]);
    return d;
}

/*
 * Multi-index hashing search (see the docstring of matchers/bank_index.py) for nq
 * queries. For query i and probe p, the bucket is g = probe_base[p] ^ keys[i, chunk[p]];
 * its entries are positions starts[g] .. starts[g + 1] of the chunk-sorted tables:
 * rows[pos] is the code's row, and the code's first pw words are inl[pos] (bucket order)
 * when inl is not NULL, else prefix[row]. A code whose prefix distance is within r gets
 * its full distance (the remaining words of words[row]); if that is within r, the triple
 * (i, row, d) is written at the next place of out_q/out_rows/out_d while fewer than cap
 * have been written. A code found through several chunks is written once per chunk: the
 * caller de-duplicates. Returns the number of triples found (more than cap: the caller
 * calls again with room for all). scratch holds 2 * nprobes int32.
 */
int64_t lw_mih_search(const int32_t *starts, const int32_t *rows, const uint64_t *inl,
                      const uint64_t *prefix, int64_t pw, const uint64_t *words,
                      int64_t nwords, const int64_t *probe_base, const int64_t *probe_chunk,
                      int64_t nprobes, int64_t nchunks, const int64_t *keys,
                      const uint64_t *queries, int64_t nq, int64_t r, int32_t *scratch,
                      int64_t *out_q, int64_t *out_rows, int64_t *out_d, int64_t cap)
{
    int32_t *lo = scratch, *hi = scratch + nprobes;
    int64_t n = 0;
    for (int64_t i = 0; i < nq; i++) {
        const int64_t *qk = keys + i * nchunks;
        const uint64_t *q = queries + i * nwords;
        /* Bucket bounds, then each bucket's codes. Every bucket is a random place in a
         * large table, so each loop prefetches what it will read AHEAD iterations later:
         * that many cache misses are in flight at once instead of one at a time. */
        for (int64_t p = 0; p < nprobes + AHEAD; p++) {
            if (p + AHEAD < nprobes)
                __builtin_prefetch(starts + (probe_base[p + AHEAD] ^ qk[probe_chunk[p + AHEAD]]));
            if (p < nprobes) {
                int64_t g = probe_base[p] ^ qk[probe_chunk[p]];
                lo[p] = starts[g];
                hi[p] = starts[g + 1];
            }
        }
        for (int64_t p = 0; p < nprobes; p++) {
            if (p + AHEAD < nprobes)
                __builtin_prefetch(inl ? (const void *)(inl + (int64_t)lo[p + AHEAD] * pw)
                                       : (const void *)(rows + lo[p + AHEAD]));
            for (int32_t j = lo[p]; j < hi[p]; j++) {
                /* Inline: rows[j] (another table, another cache miss) is read only for
                 * the few codes whose prefix is within reach. */
                const uint64_t *head = inl ? inl + (int64_t)j * pw : prefix + rows[j] * pw;
                int64_t d = popcount_xor(head, q, pw);
                if (d > r) continue;
                int64_t row = rows[j];
                d += popcount_xor(words + row * nwords + pw, q + pw, nwords - pw);
                if (d > r) continue;
                if (n < cap) {
                    out_q[n] = i;
                    out_rows[n] = row;
                    out_d[n] = d;
                }
                n++;
            }
        }
    }
    return n;
}

/*
 * The rows phase of the grouped Euclidean search (matchers/euclidean_index.py): for
 * each pair k (query pq[k], group pg[k], centre distance dc[k]), the group's rows
 * first[g] .. first[g] + counts[g] of vecs (n x dims float32, grouped contiguously).
 * A row x is read only if dc[k] - rdist[x] <= reach (triangle inequality: its distance
 * from its centre); its float32 squared distance to the query is computed with 8
 * partial sums, and if it is <= reach2 the pair (k, row) is written while fewer than
 * cap are. The caller re-checks every one in float64. Returns the number found.
 */
int64_t lw_group_rows(const float *vecs, int64_t dims, const double *rdist,
                      const int64_t *first, const int64_t *counts, const int64_t *pq,
                      const int64_t *pg, const double *dc, int64_t npairs,
                      const float *queries, double reach, float reach2,
                      int64_t *out_k, int64_t *out_rows, int64_t cap)
{
    int64_t n = 0;
    for (int64_t k = 0; k < npairs; k++) {
        const float *q = queries + pq[k] * dims;
        int64_t lo = first[pg[k]], hi = lo + counts[pg[k]];
        if (k + 4 < npairs)
            __builtin_prefetch(vecs + first[pg[k + 4]] * dims);
        for (int64_t row = lo; row < hi; row++) {
            if (dc[k] - rdist[row] > reach) continue;
            const float *x = vecs + row * dims;
            float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t j = 0;
            for (; j + 8 <= dims; j += 8)
                for (int t = 0; t < 8; t++) {
                    float d = x[j + t] - q[j + t];
                    acc[t] += d * d;
                }
            float d2 = 0;
            for (; j < dims; j++) d2 += (x[j] - q[j]) * (x[j] - q[j]);
            for (int t = 0; t < 8; t++) d2 += acc[t];
            if (d2 > reach2) continue;
            if (n < cap) {
                out_k[n] = k;
                out_rows[n] = row;
            }
            n++;
        }
    }
    return n;
}
