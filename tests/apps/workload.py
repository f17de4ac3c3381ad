"""A Python workload for picobox's tests: the standard library's common parts, run the same in a
box and natively; prints only what must match."""
import hashlib, json, multiprocessing, os, re, socket, sqlite3, ssl, subprocess, sys, threading

def square(n):
    return n * n

def main():
    data = {"name": "picobox", "values": list(range(10)), "nested": {"ok": True}}
    text = json.dumps(data, sort_keys=True)
    print("json:", json.loads(text)["nested"]["ok"], len(text))
    print("re:", re.findall(r"\d+", "a1b22c333"))
    print("sha256:", hashlib.sha256(b"picobox").hexdigest()[:16])
    print("blake2b:", hashlib.blake2b(b"picobox", digest_size=8).hexdigest())
    ctx = ssl.create_default_context()
    print("ssl:", ssl.OPENSSL_VERSION.split()[0], ctx.verify_mode == ssl.CERT_REQUIRED)
    cert = ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read()))
    print("cert round trip:", cert.startswith("-----BEGIN CERTIFICATE-----"))
    db = sqlite3.connect("test.db")
    db.execute("create table t (k integer primary key, v text)")
    db.executemany("insert into t (v) values (?)", [(str(i),) for i in range(1000)])
    db.commit()
    print("sqlite3:", db.execute("select count(*), sum(k) from t").fetchone())
    results = []
    def work(i):
        results.append(sum(range(i * 1000)))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("threads:", sorted(results)[-1])
    out = subprocess.run(["/bin/sh", "-c", "echo hi from sh | tr a-z A-Z; ls / >/dev/null"],
                         capture_output=True, text=True)
    print("subprocess:", out.stdout.strip(), out.returncode)
    print("coreutils:", subprocess.check_output(["seq", "-s", "+", "5"], text=True).strip())
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
    cli = socket.create_connection(srv.getsockname()); conn, _ = srv.accept()
    cli.sendall(b"ping"); print("socket:", conn.recv(4))
    with multiprocessing.Pool(4) as pool:
        print("multiprocessing:", sum(pool.map(square, range(100))))

if __name__ == "__main__":
    main()
