// Any bytes as the files of a CIFAR-10 folder (all six files alike) and of a CIFAR-100 folder.
#include "data/dataset.h"
#include "fuzz/scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = mm::fuzz::scratch_dir() + "/cifar";
  for (const char* name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                           "data_batch_5.bin", "test_batch.bin", "train.bin", "test.bin"})
    mm::fuzz::write_file(dir + "/" + name, data, size);
  for (const char* kind : {"cifar10", "cifar100"}) {
    try {
      const mm::DataSplits s = mm::load_dataset(kind, dir);
      (void)s.train.subset(3);
    } catch (const mm::Error&) {
    }
  }
  return 0;
}
