/*
 * STeaMi board: the STM32F103 storage co-processor next to its W25Q64JV.
 *   I2C2  SCL PB10, SDA PB11 (the bus shared with the host MCU)
 *   SPI1  remapped (AFIO_MAPR.SPI1_REMAP = 1): SCK PB3, MISO PB4, MOSI PB5.
 *         PB3/PB4 are JTDO/NJTRST after reset: JTAG-DP is disabled
 *         (AFIO_MAPR.SWJ_CFG = 010), SW-DP (PA13/PA14) stays for flashing/debug.
 *   CS    PC15 as GPIO. PC13..PC15 sit in the backup domain: output mode 2 MHz
 *         only, low current (datasheet, pin description notes); the LSE is unused.
 */
#ifndef FB_BOARD_STEAMI_H
#define FB_BOARD_STEAMI_H

#define BOARD_NAME "steami"
#define BOARD_HSE_HZ 8000000u

#define BOARD_I2C_PORT     GPIOB
#define BOARD_I2C_GPIO_EN  RCC_APB2_IOPB
#define BOARD_I2C_SCL_PIN  10u
#define BOARD_I2C_SDA_PIN  11u

#define BOARD_SPI_REMAP    1
#define BOARD_SPI_PORT     GPIOB
#define BOARD_SPI_GPIO_EN  RCC_APB2_IOPB
#define BOARD_SPI_SCK_PIN  3u
#define BOARD_SPI_MISO_PIN 4u
#define BOARD_SPI_MOSI_PIN 5u

#define BOARD_CS_PORT      GPIOC
#define BOARD_CS_GPIO_EN   RCC_APB2_IOPC
#define BOARD_CS_PIN       15u
#define BOARD_CS_CNF_MODE  (GPIO_CNF_OUT_PP | GPIO_MODE_OUT_2M)

/* Internal flash (offsets from 0x08000000): F103CB, 128 KiB, under the DAPLink
 * bootloader (stm32f103xb_steami.ld has the map). The config journal takes the last
 * 4 KiB of DAPLink's interface area; the factory config page at 0x0800BC00 (the v1
 * config zone) is read, never written (docs/STORAGE.md, "STeaMi"). */
#define BOARD_IFLASH_SIZE        0x20000u
#define BOARD_IFLASH_REGION_BASE 0x1EC00u
#define BOARD_IFLASH_FACTORY     0xBC00u

#endif
