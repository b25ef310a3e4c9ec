// Data-parallel training (engine/distributed.h, train/data_parallel.h), run by ctest as
// `mpirun -np 2 test_distributed`: every rank runs every test, and each compares what the ranks did
// together with what one process computes alone (in float64, so that no rounding hides a
// difference). Started without mpirun it is one rank, and the tests skip.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/autograd.h"
#include "engine/distributed.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "mixup/method.h"
#include "models/network.h"
#include "tests/fixtures.h"
#include "train/trainer.h"

namespace mm::testing {
namespace {

constexpr int kClasses = 10, kBatch = 8;  // the whole batch; each of the K ranks takes kBatch / K
constexpr double kLr = 0.1, kTol = 1e-9;

// The same images and labels on every rank: [kBatch, 32, 32, 3] float64, I64 [kBatch].
std::pair<Tensor, Tensor> whole_batch() {
  Rng rng = seeded_rng({7});
  std::vector<double> pixels(kBatch * 32 * 32 * 3);
  for (double& p : pixels) p = rng.normal();
  std::vector<int64_t> labels(kBatch);
  for (int64_t& l : labels) l = static_cast<int64_t>(rng.below(kClasses));
  return {Tensor::from_vector(pixels, {kBatch, 32, 32, 3}), Tensor::from_vector(labels, {kBatch})};
}

// Rank r's share of a batch, as the loader deals it: examples r, r + K, r + 2K, ...
Tensor share(const Tensor& batch, int rank, int ranks) {
  Shape shape = batch.shape();
  shape[0] = (batch.dim(0) - rank + ranks - 1) / ranks;
  Tensor out = Tensor::empty(shape, batch.dtype());
  const size_t row_bytes = batch.nbytes() / static_cast<size_t>(batch.dim(0));
  for (int64_t k = 0; k < shape[0]; ++k)
    std::memcpy(static_cast<char*>(out.raw()) + k * row_bytes,
                static_cast<const char*>(batch.raw()) + (rank + k * ranks) * row_bytes, row_bytes);
  return out;
}

std::unique_ptr<Network> float64_network() {
  auto net = make_network("preactresnet18", 8, kClasses, 0);
  net->to(DType::F64);
  return net;
}

// The parameters (and BN buffers) of `a` and `b` agree to kTol relative to each tensor's largest value.
void expect_same_model(const Network& a, const Network& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(close_relative(pb[i].tensor, pa[i].tensor, kTol)) << pa[i].name;
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  for (size_t i = 0; i < ba.size(); ++i) EXPECT_TRUE(close_relative(bb[i].tensor, ba[i].tensor, kTol)) << ba[i].name;
}

class TwoRanks : public ::testing::Test {
 protected:
  void SetUp() override {
    if (world().size() < 2) GTEST_SKIP() << "one rank: run as mpirun -np 2 test_distributed";
  }
  void TearDown() override { set_batch_norm_sync(nullptr); }
};

// --sync-bn: K ranks with batch m / K take exactly the step of one process with batch m (erm has
// no draws): the same parameters, momentum and running statistics.
TEST_F(TwoRanks, SyncBnStepsEqualOneProcessWithTheWholeBatch) {
  const Communicator& ranks = world();
  const auto [images, labels] = whole_batch();
  const Tensor my_images = share(images, ranks.rank(), ranks.size()), my_labels = share(labels, ranks.rank(), ranks.size());
  MethodConfig erm;

  // two steps (the second also checks the momentum buffers), first alone, then on the ranks together
  auto alone = float64_network(), together = float64_network();
  Sgd sgd_alone(alone->parameters(), SgdOptions{kLr, 0.9, 1e-4, false});
  Sgd sgd_together(together->parameters(), SgdOptions{kLr, 0.9, 1e-4, false});
  Trainer one(*alone, nullptr, sgd_alone, erm, 0, cpu()), mine(*together, nullptr, sgd_together, erm, 0, cpu());
  double loss_alone[2], my_loss[2];
  for (int step = 0; step < 2; ++step) loss_alone[step] = one.step(images, Tensor(), labels, kClasses, 0, step, kLr).item();
  mine.set_ranks(ranks, /*sync_bn=*/true);
  set_batch_norm_sync(&ranks);
  for (int step = 0; step < 2; ++step) my_loss[step] = mine.step(my_images, Tensor(), my_labels, kClasses, 0, step, kLr).item();

  for (int step = 0; step < 2; ++step) EXPECT_NEAR(ranks.sum(my_loss[step]) / ranks.size(), loss_alone[step], kTol);
  expect_same_model(*alone, *together);
}

// MultiMix, batch norm per rank: each rank mixes n tuples of its own m / K examples with its own
// draws, and the step is SGD on the average of the ranks' gradients. Checked against that
// definition computed in one process: each rank's loss on its share with rank r's draws
// (keyed by (seed, epoch, step), and by the rank for r > 0: train/trainer.cpp), each
// backward accumulating, gradients halved, one SGD step.
TEST_F(TwoRanks, MultiMixStepIsTheAverageOfEachRanksOwnMixing) {
  const Communicator& ranks = world();
  const auto [images, labels] = whole_batch();
  MethodConfig multimix;
  multimix.method = Method::MultiMix;
  multimix.n = 20;
  multimix.mix_prob = 1.0;
  const uint64_t seed = 3, epoch = 1, step = 5;

  auto definition = float64_network();
  Sgd sgd_definition(definition->parameters(), SgdOptions{kLr, 0.9, 1e-4, false});
  for (int r = 0; r < ranks.size(); ++r) {
    // the trainer's draws: the salts of the run (the first one seeds dropout), keyed by the step's key
    const uint64_t rank = uint64_t(r);
    Rng salts = r ? seeded_rng({seed, 0x73616C74ull, rank}) : seeded_rng({seed, 0x73616C74ull});
    salts.next_u64();
    Rng key = r ? seeded_rng({seed, epoch, step, 0x6B6579ull, rank}) : seeded_rng({seed, epoch, step, 0x6B6579ull});
    StepRandom random{salts, Tensor::from_vector<int64_t>(std::vector<int64_t>{int64_t(key.next_u64())}, {1})};
    const Tensor x = share(images, r, ranks.size()), y = share(labels, r, ranks.size());
    Draws draws;
    draws.method = Method::MultiMix;  // mix_prob 1
    sample_draws(draws, multimix, *definition, x.dim(0), 32, 32, random, cpu());
    draws = draws.to(DType::F64);
    backward(mixed_loss(*definition, nullptr, x, Tensor(), y, kClasses, multimix, draws).loss);
  }
  for (Tensor& p : definition->parameters()) p.grad_ref().copy_from(scale(p.grad(), 1.0 / ranks.size()));
  sgd_definition.step(kLr);

  auto together = float64_network();
  Sgd sgd_together(together->parameters(), SgdOptions{kLr, 0.9, 1e-4, false});
  Trainer mine(*together, nullptr, sgd_together, multimix, seed, cpu());
  mine.set_ranks(ranks, /*sync_bn=*/false);
  mine.step(share(images, ranks.rank(), ranks.size()), Tensor(), share(labels, ranks.rank(), ranks.size()), kClasses,
            epoch, step, kLr);

  const auto pa = definition->named_parameters(), pb = together->named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(close_relative(pb[i].tensor, pa[i].tensor, kTol)) << pa[i].name;
  // every rank holds the same model after the step (its own BN statistics aside)
  for (const auto& p : pb) {
    Tensor rank0 = p.tensor.clone();
    ranks.broadcast(rank0, 0);
    EXPECT_TRUE(close_relative(p.tensor, rank0, 0.0)) << p.name;
  }
}

// The collectives themselves, on host values and CPU tensors.
TEST_F(TwoRanks, CollectivesSumAverageAndBroadcast) {
  const Communicator& ranks = world();
  EXPECT_EQ(ranks.sum(int64_t(ranks.rank() + 1)), 3);
  EXPECT_DOUBLE_EQ(ranks.sum(0.5 * ranks.rank()), 0.5);
  EXPECT_TRUE(ranks.any(ranks.rank() == 1));
  EXPECT_FALSE(ranks.any(false));
  Tensor t = Tensor::from_vector(std::vector<float>{float(ranks.rank()), 10.0f}, {2});
  ranks.average(t);
  EXPECT_EQ(t.to_doubles(), (std::vector<double>{0.5, 10.0}));
  Tensor b = Tensor::from_vector(std::vector<int64_t>{ranks.rank() * 7 + 1}, {1});
  ranks.broadcast(b, 1);
  EXPECT_EQ(b.to_doubles(), std::vector<double>{8.0});
}

}  // namespace
}  // namespace mm::testing

// Every rank runs the tests; a failure on any rank fails every rank (and mpirun).
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const mm::Communicator& ranks = mm::world();
  if (ranks.rank() != 0) {  // one report: rank 0's (the others still fail the run on a failure)
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  const bool any_failed = ranks.any(failed != 0);
  mm::finish_distributed();
  return any_failed ? 1 : 0;
}
