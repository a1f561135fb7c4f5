#!/bin/bash -e
# pi-gen sub-stage, run inside the image (on_chroot). The package made the
# user postlite, enabled the units, and, while installing, a store and a
# self-signed certificate. Those two must be made on each device instead
# (a key baked into an image is shared by every card written from it):
# drop them, and let postlite-firstboot.service make them at first boot.
rm -f /etc/postlite/tls/fullchain.pem /etc/postlite/tls/privkey.pem
rm -f /var/lib/postlite/postlite.db /var/lib/postlite/postlite.db-wal \
	/var/lib/postlite/postlite.db-shm

getent passwd postlite >/dev/null
systemctl enable postlite-firstboot.service
systemctl enable postlite-smtp.socket postlite-submission.socket \
	postlite-submissions.socket postlite-pop3.socket postlite-pop3s.socket \
	postlite-smtpd.service postlite-pop3d.service
