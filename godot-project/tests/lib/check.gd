extends RefCounted
## Check bookkeeping for the GDScript suites.
##
## Prints one line per check, `PASS name` or `FAIL name<TAB>detail`, and at the end
## `SUITE_DONE passed=X failed=Y`. tests/run.py parses exactly these lines: names and details are
## kept on one line, and the tab separates them because names often contain ": ".

var passed := 0
var failed := 0


## Records one check; returns cond so callers can skip follow-up checks that would only cascade.
func check(name: String, cond: bool, detail := "") -> bool:
	if cond:
		passed += 1
		print("PASS %s" % _one_line(name))
	else:
		failed += 1
		print("FAIL %s\t%s" % [_one_line(name), _one_line(detail if detail != "" else "condition is false")])
	return cond


## Equality check with a "got X, want Y" detail. Types must match too (1 and 1.0 are different).
func check_eq(name: String, got: Variant, want: Variant) -> bool:
	var same: bool = typeof(got) == typeof(want) and got == want
	return check(name, same, "got %s, want %s" % [show(got), show(want)])


## Short printable form of a value for failure details (large arrays are cut).
static func show(v: Variant) -> String:
	var s: String
	match typeof(v):
		TYPE_STRING:
			s = '"%s"' % v
		TYPE_PACKED_BYTE_ARRAY:
			s = "PackedByteArray(size=%d, head=%s)" % [v.size(), str(v.slice(0, 16))]
		_:
			s = var_to_str(v)
	if s.length() > 300:
		s = s.substr(0, 300) + "..."
	return s


func summary_line() -> String:
	return "SUITE_DONE passed=%d failed=%d" % [passed, failed]


static func _one_line(s: String) -> String:
	return s.replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")
