/*
 * Blue Pill (STM32F103C8T6, 8 MHz crystal). Our choice of pins, nothing on the board
 * fixes them; wiring in README.md ("Running on a board").
 *   I2C2  SCL PB10, SDA PB11 (5 V tolerant pins; external pull-ups to 3.3 V)
 *   SPI1  default mapping: SCK PA5, MISO PA6, MOSI PA7; W25Q64 CS on PA4 (GPIO)
 */
#ifndef FB_BOARD_BLUEPILL_H
#define FB_BOARD_BLUEPILL_H

#define BOARD_NAME "bluepill"
#define BOARD_HSE_HZ 8000000u

#define BOARD_I2C_PORT     GPIOB
#define BOARD_I2C_GPIO_EN  RCC_APB2_IOPB
#define BOARD_I2C_SCL_PIN  10u
#define BOARD_I2C_SDA_PIN  11u

#define BOARD_SPI_REMAP    0 /* AFIO_MAPR.SPI1_REMAP = 0: PA5/PA6/PA7 */
#define BOARD_SPI_PORT     GPIOA
#define BOARD_SPI_GPIO_EN  RCC_APB2_IOPA
#define BOARD_SPI_SCK_PIN  5u
#define BOARD_SPI_MISO_PIN 6u
#define BOARD_SPI_MOSI_PIN 7u

#define BOARD_CS_PORT      GPIOA
#define BOARD_CS_GPIO_EN   RCC_APB2_IOPA
#define BOARD_CS_PIN       4u
#define BOARD_CS_CNF_MODE  (GPIO_CNF_OUT_PP | GPIO_MODE_OUT_50M)

/* Internal flash (offsets from 0x08000000): F103C8, 64 KiB; the config journal in the
 * last 4 KiB (stm32f103x8.ld); no factory config page. */
#define BOARD_IFLASH_SIZE        0x10000u
#define BOARD_IFLASH_REGION_BASE 0xF000u
#define BOARD_IFLASH_FACTORY     0u

#endif
