/*
 * flashbridge-emu links sim/sim_main.c, the socket server of flashbridge-sim, with its
 * main() renamed to fb_sim_server_main() (CMake compiles that file for the emulator with
 * -Dmain=fb_sim_server_main and force-includes this header for the prototype). So both
 * programs serve docs/SIM-PROTOCOL.md with the same code; emu_main.c takes the
 * emulator's own options and hands the rest over.
 */
#ifndef FB_EMU_SIM_SERVER_H
#define FB_EMU_SIM_SERVER_H

int fb_sim_server_main(int argc, char **argv);

#endif
