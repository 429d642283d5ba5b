# The demo job, run as root inside the test VM by scripts/demo.sh.
set -e
echo "### insmod netatop.ko"
insmod /lib/modules/netatop.ko
echo
echo "### traffic: netatop-traffic sends 500 UDP datagrams over IPv6 and"
echo "### busybox nc sends 200 KiB over TCP (IPv4), while atop samples"
(sleep 3 | nc -l -p 5001 >/dev/null) &
(sleep 1; dd if=/dev/zero bs=1024 count=200 2>/dev/null | nc -w 3 127.0.0.1 5001) &
(sleep 1; netatop-traffic udp ::1 500 512 4 >/dev/null) &
echo
echo "### atop -K -P PRN 2 2: per-process network counters (process name, state,"
echo "### netatop active, TCP sent packets/bytes, received packets/bytes,"
echo "### UDP sent packets/bytes, received packets/bytes, ...)"
atop -K -P PRN 2 2 | awk '$1 == "PRN" && ($8 ~ /netatop-traffic|nc/) { print $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18 }'
wait
echo
echo "### /proc/netatop"
cat /proc/netatop
