#!/bin/sh
# tools/fwsize.py's placement check must fail a build that DAPLink's bootloader would
# not start: the Blue Pill image (vectors at 0x08000000) judged as a STeaMi interface
# image. usage: test_fwsize.sh BUILD_DIR
set -u
build=$1
out=$(/usr/bin/python3 tools/fwsize.py --quiet --board steami "$build/stm32f103/flashbridge.elf")
if [ $? -eq 0 ]; then
    echo "FAIL fwsize: a Blue Pill image passed the STeaMi placement check"; exit 1
fi
printf '%s\n' "$out" | grep -q "below the image area 0x0800c000" || {
    echo "FAIL fwsize: the report does not say where the image loads"; echo "$out"; exit 1; }
/usr/bin/python3 tools/fwsize.py --quiet --board steami "$build/stm32f103-steami/flashbridge.elf" \
    || { echo "FAIL fwsize: the STeaMi image fails its own check"; exit 1; }
echo "fwsize placement check: rejects a wrongly placed image, accepts the STeaMi one"
