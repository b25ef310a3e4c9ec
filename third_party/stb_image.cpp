// The one translation unit that instantiates stb_image (Debian's libstb-dev ships only the header).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO_WARNINGS
#include <stb_image.h>
