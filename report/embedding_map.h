#pragma once
// Two-dimensional maps of embeddings, for the paper's Figure 4 (evaluate's page): each row of
// x [N, d] becomes a point (u, v), returned as [N][2] row-major doubles.
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace mm {

// PCA: the coordinates on the two leading principal components of the centred rows (power
// iteration with deflation, in double precision). Deterministic up to the sign of each axis,
// which is fixed so that the largest coordinate is positive.
std::vector<double> pca_2d(const Tensor& x);

// t-SNE (van der Maaten & Hinton 2008) with the exact O(N^2) gradient, as the reference
// implementation runs it: per-point Gaussian bandwidths found by bisection to `perplexity`,
// symmetrised affinities, a Student-t map started from N(0, 1e-4) drawn from `seed`, early
// exaggeration 12 for the first 250 iterations, momentum 0.5 then 0.8, adaptive gains, learning
// rate max(N / 12, 50). Meant for up to a few thousand points.
std::vector<double> tsne_2d(const Tensor& x, uint64_t seed, double perplexity = 30, int iterations = 1000);

}  // namespace mm
