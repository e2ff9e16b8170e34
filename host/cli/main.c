/* flashbridge CLI entry point; everything else is in cli.c so it can be tested. */
#include "cli.h"

int main(int argc, char **argv)
{
    return fb_cli_main(argc, argv, NULL);
}
