#!/bin/bash
# A shell workload for picobox's tests: bash, coreutils, findutils, grep, sed, gawk, gzip, tar.
# It runs in an empty working directory and prints only what must match a native run.
set -euo pipefail
export LC_ALL=C
mkdir -p src/a src/b out
for i in $(seq 1 30); do
  printf 'line %03d %s\n' "$i" "$((i * i))" > "src/a/f$i.txt"
done
cat > src/b/notes.md <<'NOTES'
# Notes
alpha beta gamma
delta 42 epsilon
zeta 7 eta 1999
NOTES
cat <<INFO > src/b/info.txt
files: $(ls src/a | wc -l)
first: $(head -n1 src/a/f1.txt)
INFO
echo "globbing: $(echo src/a/f1*.txt | wc -w) files match f1*"
shopt -s nullglob
none=(src/a/*.none)
echo "nullglob: ${#none[@]}"
echo "pipeline: $(cat src/a/*.txt | awk '{s += $3} END {print s}')"
echo "sed: $(sed -n 's/^delta \([0-9]*\).*/\1/p' src/b/notes.md)"
echo "grep -P: $(grep -oP '\d{4}' src/b/notes.md)"
echo "grep -c: $(grep -c line src/a/f1.txt)"
find src -name '*.txt' -exec wc -l {} + | tail -n1 | awk '{print "find -exec:", $1}'
find src/a -name 'f2*.txt' -print0 | xargs -0 -P2 -n2 cat | sort | sha256sum | cut -c1-16
seq 1 20000 | shuf --random-source=<(yes) | sort -S 1M -n | tail -n1
tar czf out/src.tar.gz src
mkdir -p out/x && tar xzf out/src.tar.gz -C out/x
diff -r src out/x/src && echo "tar round trip: same"
gzip -c src/b/notes.md | gunzip | md5sum | cut -d' ' -f1
awk -F' ' 'NR % 2 == 0 {n++} END {print "awk even lines:", n}' src/b/notes.md
words=$(tr -s ' ' '\n' < src/b/notes.md | sort | uniq -c | sort -rn | head -n3 | wc -l)
echo "top words: $words"
while read -r name value; do
  echo "read: $name=$value"
done < <(printf 'x 1\ny 2\n')
count=0
for f in src/a/*; do count=$((count + 1)); done
echo "loop: $count"
( cd src/b && echo "subshell: $(basename "$PWD")" )
echo "cut: $(cut -d' ' -f2 src/a/f9.txt)"
printf '%s\n' c b a | sort | paste -sd, -
echo "date: $(date -u -d @0 +%Y-%m-%d)"
echo "stat: $(stat -c %s src/b/notes.md)"
ln -s notes.md src/b/link.md && readlink src/b/link.md
cp -r src/b out/b-copy && ls out/b-copy | sort | tr '\n' ' ' && echo
rm -rf out/x && echo "rm: $(ls out | sort | tr '\n' ' ')"
exec 3> out/fd3.txt; echo "via fd 3" >&3; exec 3>&-; cat out/fd3.txt
trap 'echo "trap: EXIT"' EXIT
echo "done: $(du -s src >/dev/null && echo ok)"
