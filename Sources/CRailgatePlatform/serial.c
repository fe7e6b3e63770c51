/* termios2 lives in <asm/termbits.h>, which clashes with glibc's
 * <termios.h>: this file includes only the kernel's definitions. */
#include "platform.h"
#include <asm/termbits.h>
#include <errno.h>
#include <linux/serial.h>
#include <sys/ioctl.h>

int rg_serial_set_baud(int fd, int baud) {
    struct termios2 tio;
    if (ioctl(fd, TCGETS2, &tio) != 0) return errno;
    tio.c_cflag &= ~(tcflag_t)CBAUD;
    tio.c_cflag |= BOTHER;
    tio.c_cflag &= ~(tcflag_t)(CBAUD << IBSHIFT);
    tio.c_cflag |= BOTHER << IBSHIFT;
    tio.c_ispeed = (speed_t)baud;
    tio.c_ospeed = (speed_t)baud;
    if (ioctl(fd, TCSETS2, &tio) != 0) return errno;
    return 0;
}

int rg_serial_get_baud(int fd) {
    struct termios2 tio;
    if (ioctl(fd, TCGETS2, &tio) != 0) return -1;
    return (int)tio.c_ospeed;
}

int rg_serial_set_rs485(int fd, int enable) {
    struct serial_rs485 rs485 = {0};
    if (enable) rs485.flags = SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND;
    if (ioctl(fd, TIOCSRS485, &rs485) != 0) return errno;
    return 0;
}
