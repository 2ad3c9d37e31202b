// Scripts the editor offers to load; the first one is where a visitor starts.
export const EXAMPLES = [
  {
    name: "Live output",
    script: `import time

for i in range(5):
    print(f"tick {i}", flush=True)
    time.sleep(0.5)
print("done")
`,
  },
  {
    name: "Hello, world",
    script: `print("Hello, Integr8sCode!")
`,
  },
  {
    name: "Read standard input",
    script: `import sys

names = [line.strip() for line in sys.stdin if line.strip()]
for name in sorted(names):
    print(f"Hello, {name}!")
print(f"{len(names)} greetings", file=sys.stderr)
`,
    stdin: "Ada\nGrace\nGuido\n",
  },
  {
    name: "Primes (a bit of CPU)",
    script: `def primes(limit):
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\\x00\\x00"
    for n in range(2, int(limit ** 0.5) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytes(len(range(n * n, limit + 1, n)))
    return [n for n, is_prime in enumerate(sieve) if is_prime]


found = primes(2_000_000)
print(len(found), "primes below two million; the last is", found[-1])
`,
  },
  {
    name: "An exception",
    script: `def average(values):
    return sum(values) / len(values)


print("average of nothing:")
print(average([]))
`,
  },
  {
    name: "Hit the time limit",
    script: `import time

print("sleeping longer than allowed...", flush=True)
time.sleep(60)
`,
  },
];
