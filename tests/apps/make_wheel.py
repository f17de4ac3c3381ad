"""Builds a minimal pure-Python wheel (picobox_demo 1.0) in the current directory, without
network or build tools: a wheel is a zip file with the package and its metadata."""
import base64, hashlib, zipfile

NAME, VERSION = "picobox_demo", "1.0"
files = {
    f"{NAME}/__init__.py": "def greet(who):\n    return f'hello, {who}'\n",
    f"{NAME}-{VERSION}.dist-info/METADATA":
        f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n",
    f"{NAME}-{VERSION}.dist-info/WHEEL":
        "Wheel-Version: 1.0\nGenerator: picobox-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}

def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"

wheel = f"{NAME}-{VERSION}-py3-none-any.whl"
with zipfile.ZipFile(wheel, "w") as z:
    lines = []
    for path, text in files.items():
        z.writestr(path, text)
        lines.append(record_line(path, text.encode()))
    record = f"{NAME}-{VERSION}.dist-info/RECORD"
    lines.append(f"{record},,")
    z.writestr(record, "\n".join(lines) + "\n")
print(wheel)
