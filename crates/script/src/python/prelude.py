# The sandbox's entry point: reads {"code", "input"} from stdin, runs the code with `input`
# defined, and writes one envelope line, {"ok": result} or {"error": {...}}, to the original
# stdout. The script's own prints go to stderr (the step's log); the last line it printed is
# kept, for scripts that print their result instead of returning it.
import io, json, os, sys, traceback

_pid = os.getpid()
_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)


class _Stdout(io.TextIOBase):
	tail = ""

	def writable(self):
		return True

	def write(self, s):
		sys.stderr.write(s)
		self.tail = (self.tail + s)[-65536:]
		return len(s)

	def flush(self):
		sys.stderr.flush()


sys.stdout = _Stdout()


def _send(envelope):
	# A forked child must not answer for its parent.
	if os.getpid() != _pid:
		os._exit(1)
	try:
		text = json.dumps(envelope, allow_nan=False)
	except (TypeError, ValueError, RecursionError) as e:
		text = json.dumps({"error": {"kind": "output", "type": type(e).__name__, "message": str(e)}})
	sys.stderr.flush()
	_out.write(text + "\n")
	_out.flush()
	os._exit(0)


_req = json.load(sys.stdin)
_globals = {"__name__": "__main__", "__builtins__": __builtins__, "input": _req["input"]}
try:
	exec(compile(_req["code"], "<script>", "exec"), _globals)
	if callable(_globals.get("main")):
		_result = _globals["main"](_globals["input"])
	elif "result" in _globals:
		_result = _globals["result"]
	else:
		_lines = [l for l in sys.stdout.tail.splitlines() if l.strip()]
		try:
			_result = json.loads(_lines[-1]) if _lines else None
		except ValueError as e:
			_send({"error": {"kind": "output", "type": "ValueError",
				"message": "the last printed line is not JSON: " + str(e)}})
except BaseException as e:
	_line = None
	if isinstance(e, SyntaxError) and e.filename == "<script>":
		_line = e.lineno
	for _frame in traceback.extract_tb(e.__traceback__):
		if _frame.filename == "<script>":
			_line = _frame.lineno
	_send({"error": {"kind": "exception", "type": type(e).__name__, "message": str(e),
		"line": _line, "errno": getattr(e, "errno", None)}})
_send({"ok": _result})
