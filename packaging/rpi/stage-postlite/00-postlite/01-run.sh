#!/bin/bash -e
# pi-gen sub-stage, run on the build host: installs the postlite package
# built for this image's architecture (files/postlite_*_ARCH.deb, made by
# `scripts/build-deb -a arm64 -o packaging/rpi/stage-postlite/00-postlite/files`)
# and the first-boot helper.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
arch=${ARCH:-$(chroot "${ROOTFS_DIR}" dpkg --print-architecture)}
shopt -s nullglob
debs=("${here}"/files/postlite_*_"${arch}".deb)
if [ ${#debs[@]} -ne 1 ]; then
	echo "stage-postlite: want exactly one files/postlite_*_${arch}.deb, found ${#debs[@]}" >&2
	echo "stage-postlite: scripts/build-deb -a ${arch} -o ${here}/files" >&2
	exit 1
fi
install -m 644 "${debs[0]}" "${ROOTFS_DIR}/tmp/postlite.deb"
install -m 755 "${here}/files/postlite-firstboot" "${ROOTFS_DIR}/usr/local/sbin/postlite-firstboot"
install -m 644 "${here}/files/postlite-firstboot.service" "${ROOTFS_DIR}/etc/systemd/system/postlite-firstboot.service"
install -d "${ROOTFS_DIR}/etc/update-motd.d"
install -m 755 "${here}/files/60-postlite" "${ROOTFS_DIR}/etc/update-motd.d/60-postlite"

on_chroot << EOF
apt-get install -y /tmp/postlite.deb
rm -f /tmp/postlite.deb
EOF
