// stb_image_write's implementation, for tests that write small image folders.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
