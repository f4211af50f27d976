# Debian packages the suites use: bubblewrap (the Python sandbox of script_execution) and
# Chromium (the UI's browser tests). Installed only when missing, so a warm machine pays nothing.
need=()
for pkg in bubblewrap chromium; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
	echo "installing: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${need[@]}" >/dev/null \
		|| { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }
fi
command -v bwrap >/dev/null || { echo "bubblewrap (bwrap) is missing"; exit 1; }
command -v chromium >/dev/null || { echo "chromium is missing"; exit 1; }
echo "bwrap: $(bwrap --version), $(chromium --version 2>/dev/null)"
