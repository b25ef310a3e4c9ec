#include <gtest/gtest.h>
#include "models/network.h"
namespace mm { TEST(Models, Builds) { auto n = make_network("preactresnet18", 8, 10, 0); EXPECT_TRUE(n != nullptr); } }
