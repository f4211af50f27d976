# A Python venv outside the clone (kept warm like the target dir) with what the tests' peers and
# independent readers need: pyarrow reads back the parquet files, aiosmtpd is the SMTP server on
# loopback. Tests find it through APG_TEST_PYTHON.
venv="$HOME/.cache/apg-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
	'pyarrow==18.1.0' 'aiosmtpd==1.4.6' 2>&1 | grep -v "as the 'root' user" || true
"$venv/bin/python" -c 'import pyarrow, aiosmtpd' \
	|| { echo "the test venv lacks pyarrow or aiosmtpd"; exit 1; }
export APG_TEST_PYTHON="$venv/bin/python"
echo "APG_TEST_PYTHON=$APG_TEST_PYTHON"
