/*
 * Logic-analyser trace of the board's buses as a Value Change Dump (IEEE 1364 §18), for
 * PulseView and sigrok-cli: I2C (scl, sda) and SPI (cs, sck, mosi, miso), 1 ns timescale.
 *
 * The bus models produce edges a little out of order (an SPI byte is drawn when the
 * model learns it has completed, after later I2C edges may have been drawn), so edges
 * are buffered and written in time order once they are older than a safe horizon.
 */
#ifndef FB_EMU_VCD_H
#define FB_EMU_VCD_H

#include <stdbool.h>
#include <stdint.h>

enum { VCD_SCL, VCD_SDA, VCD_CS, VCD_SCK, VCD_MOSI, VCD_MISO, VCD_NSIG };

/* Open path and write the header (all lines high at time 0, SCK low). 0 or -1. */
int vcd_open(const char *path);
bool vcd_enabled(void);
/* Line sig takes value v at time t_ns. */
void vcd_edge(uint64_t t_ns, int sig, bool v);
/* Write every buffered edge before horizon_ns (edges after it may still arrive). */
void vcd_flush(uint64_t horizon_ns);
/* Write everything and close. */
void vcd_close(void);

#endif
