# promtool for `promtool check metrics`, `check rules` and `test rules` in the
# metrics/ and deploy/ tests. Only the tool is used; the Prometheus daemon that
# the Debian package enables is not needed, so stop it if the package started it.
apt_install prometheus
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
	systemctl stop prometheus || true
fi
