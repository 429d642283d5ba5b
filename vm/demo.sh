# The demo job, run as root inside the test VM by scripts/demo.sh.
set -e
echo "### insmod netatop.ko; start netatopd"
insmod /lib/modules/netatop.ko
netatopd
mkdir -p /var/cache
echo
echo "### traffic while atop samples: busybox nc sends 200 KiB over TCP (IPv4)"
echo "### and exits; netatop-traffic sends 500 UDP datagrams over IPv6"
(sleep 6 | nc -l -p 5001 >/dev/null) &
(sleep 2; dd if=/dev/zero bs=1024 count=200 2>/dev/null | nc -w 1 127.0.0.1 5001) &
(sleep 2; netatop-traffic udp ::1 500 512 6 >/dev/null) &
echo
echo "### atop -K -P PRN 3 2, the lines of nc and netatop-traffic: pid, name,"
echo "### state (E: exited), netatop active, TCP sent packets and bytes,"
echo "### received packets and bytes, UDP sent packets and bytes, received"
echo "### packets and bytes"
atop -K -P PRN 3 2 | awk '$1 == "PRN" && ($8 == "(nc)" || $8 == "(netatop-traffic)") { print $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18 }'
wait
echo
echo "### /proc/netatop"
cat /proc/netatop
