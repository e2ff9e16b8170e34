/*
 * Clock tree (RM0008 §7.2, §7.3): SYSCLK 72 MHz from the board's crystal (BOARD_HSE_HZ)
 * through the PLL (x 72 MHz / BOARD_HSE_HZ, checked at build time); HCLK = SYSCLK, PCLK1 = HCLK/2 = 36 MHz (APB1 limit), PCLK2 = HCLK = 72 MHz.
 *
 * Fallbacks, each wait bounded (the part runs from HSI 8 MHz while this executes):
 *  - no crystal (HSERDY not set in time): PLL from HSI/2 x16 = 64 MHz;
 *  - PLL does not lock: stay on HSI 8 MHz (PCLK1 4 MHz still allows 400 kHz I2C,
 *    hardware-facts: 400 kHz needs PCLK1 >= 4 MHz).
 * HSI is left on: the flash interface needs it to program and erase (PM0075 §2.3).
 * With the crystal in use the clock security system is on: an HSE failure raises NMI,
 * which resets the part into the fallback (startup.c).
 */
#include "board.h"
#include "port.h"
#include "regs/flash_f1.h"
#include "regs/rcc_f1.h"

/* RM0008 §7.2.1: HSE crystal 4..16 MHz; §7.3.2 (RCC_CFGR.PLLMUL): x2..x16, PLLXTPRE
 * unused here. 72 MHz must be an exact multiple, or every clock below is wrong. */
#define SYSCLK_TARGET_HZ 72000000u
#define HSE_PLL_MUL (SYSCLK_TARGET_HZ / BOARD_HSE_HZ)
_Static_assert(BOARD_HSE_HZ >= 4000000u && BOARD_HSE_HZ <= 16000000u,
               "BOARD_HSE_HZ: the F103's HSE oscillator takes a 4-16 MHz crystal (RM0008 §7.2.1)");
_Static_assert(SYSCLK_TARGET_HZ % BOARD_HSE_HZ == 0u && HSE_PLL_MUL >= 2u && HSE_PLL_MUL <= 16u,
               "BOARD_HSE_HZ: 72 MHz is not BOARD_HSE_HZ x 2..16 (RM0008 §7.3.2 PLLMUL)");

/* Loop bounds at 8 MHz (a few cycles per iteration): HSE start-up is 2 ms typical
 * (datasheet tSU(HSE)), HSI and PLL lock well under 1 ms. */
#define HSE_WAIT_LOOPS 100000u
#define RDY_WAIT_LOOPS 20000u

port_clocks_t port_clocks = {8000000u, 8000000u, 8000000u, PORT_CLOCK_HSI};

static int wait_set(const volatile uint32_t *reg, uint32_t mask, uint32_t want, uint32_t loops)
{
    while (loops--) {
        if ((*reg & mask) == want)
            return 1;
    }
    return 0;
}

void rcc_clock_init(void)
{
    RCC->CR |= RCC_CR_HSION;
    (void)wait_set(&RCC->CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY, RDY_WAIT_LOOPS);

    /* Started by a bootloader (the STeaMi's DAPLink runs from the PLL at 72 MHz,
     * its sdk_init()): PLLSRC/PLLMUL are only writable with the PLL off (RM0008
     * §7.3.2), and the PLL cannot be turned off while it drives SYSCLK. Back to HSI
     * first, as after a reset. */
    if ((RCC->CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_HSI) {
        RCC->CFGR &= ~RCC_CFGR_SW_MASK; /* SW = 00: HSI */
        (void)wait_set(&RCC->CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_HSI, RDY_WAIT_LOOPS);
    }
    RCC->CR &= ~RCC_CR_PLLON;
    (void)wait_set(&RCC->CR, RCC_CR_PLLRDY, 0u, RDY_WAIT_LOOPS);

    /* Flash: two wait states for 48 < SYSCLK <= 72 MHz and the prefetch buffer on,
     * set before SYSCLK rises (RM0008 §3.3.3). */
    FLASH->ACR = FLASH_ACR_PRFTBE | FLASH_ACR_LATENCY_2;

    /* Bus prescalers first: PCLK1 must stay <= 36 MHz. ADC clock /6 (unused). */
    uint32_t cfgr = RCC->CFGR;
    cfgr &= ~(RCC_CFGR_HPRE_MASK | RCC_CFGR_PPRE1_MASK | RCC_CFGR_PPRE2_MASK |
              RCC_CFGR_ADCPRE_MASK | RCC_CFGR_PLLSRC | RCC_CFGR_PLLXTPRE |
              RCC_CFGR_PLLMUL_MASK);
    cfgr |= RCC_CFGR_PPRE1_DIV2 | RCC_CFGR_ADCPRE_DIV6;

    RCC->CR |= RCC_CR_HSEON;
    uint8_t source;
    uint32_t pll_hz;
    if (wait_set(&RCC->CR, RCC_CR_HSERDY, RCC_CR_HSERDY, HSE_WAIT_LOOPS)) {
        cfgr |= RCC_CFGR_PLLSRC | RCC_CFGR_PLLMUL(HSE_PLL_MUL);
        source = PORT_CLOCK_HSE_PLL;
        pll_hz = HSE_PLL_MUL * BOARD_HSE_HZ;
    } else {
        RCC->CR &= ~RCC_CR_HSEON;
        cfgr |= RCC_CFGR_PLLMUL(16u); /* PLLSRC = 0: HSI/2 */
        source = PORT_CLOCK_HSI_PLL;
        pll_hz = 16u * 4000000u;
    }
    RCC->CFGR = cfgr;

    RCC->CR |= RCC_CR_PLLON;
    if (wait_set(&RCC->CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY, RDY_WAIT_LOOPS)) {
        RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
        if (wait_set(&RCC->CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL, RDY_WAIT_LOOPS)) {
            port_clocks.sysclk_hz = pll_hz;
            port_clocks.pclk1_hz = pll_hz / 2u;
            port_clocks.pclk2_hz = pll_hz;
            port_clocks.source = source;
            if (source == PORT_CLOCK_HSE_PLL)
                RCC->CR |= RCC_CR_CSSON;
            return;
        }
    }

    /* The PLL failed: back to HSI 8 MHz, no wait states needed. */
    RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_HSI;
    RCC->CR &= ~(RCC_CR_PLLON | RCC_CR_HSEON);
    FLASH->ACR = FLASH_ACR_PRFTBE | FLASH_ACR_LATENCY_0;
    port_clocks.sysclk_hz = 8000000u;
    port_clocks.pclk1_hz = 4000000u;
    port_clocks.pclk2_hz = 8000000u;
    port_clocks.source = PORT_CLOCK_HSI;
}

/* The LSE is unused, and PC14/PC15 are GPIOs (the STeaMi's flash chip select is PC15):
 * "the LSE has priority over the GPIO function" of those pins (RM0008 §9.2.1, "Using OSC32_IN/OSC32_OUT pins as GPIO ports PC14/PC15"),
 * and LSEON lives in the backup domain (RCC_BDCR, RM0008 §7.3.9), which a battery or a
 * reset that kept VBAT does not clear. Clear it: RCC_BDCR is write-protected until
 * PWR_CR.DBP is set (RM0008 §5.1.2, §5.4.1), with the PWR and BKP clocks on. */
void rcc_lse_off(void)
{
    if (!(RCC->BDCR & (RCC_BDCR_LSEON | RCC_BDCR_LSEBYP)))
        return;
    RCC->APB1ENR |= RCC_APB1_PWR | RCC_APB1_BKP;
    PWR_CR |= PWR_CR_DBP;
    RCC->BDCR &= ~(RCC_BDCR_LSEON | RCC_BDCR_LSEBYP);
    PWR_CR &= ~PWR_CR_DBP;
    RCC->APB1ENR &= ~(RCC_APB1_PWR | RCC_APB1_BKP);
}
