# The demo job, run as root inside the test VM by scripts/demo.sh.
set -e
echo "### insmod netatop.ko"
insmod /lib/modules/netatop.ko
echo
echo "### TCP: 200 KiB over loopback (IPv4) with busybox nc"
(sleep 3 | nc -l -p 5001 >/dev/null) &
sleep 1
dd if=/dev/zero bs=1024 count=200 2>/dev/null | nc -w 1 127.0.0.1 5001
wait
echo "### UDP: 50 datagrams to ::1 and 50 to 127.0.0.1"
netatop-traffic udp 127.0.0.1 50 512
netatop-traffic udp ::1 50 512
echo
echo "### /proc/netatop"
cat /proc/netatop
