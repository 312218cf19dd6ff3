# Headless Chromium for the web page tests (server/ browser tests drive it with
# chromedp). Debian's package: no browser download at test time.
apt_install chromium fonts-dejavu-core
