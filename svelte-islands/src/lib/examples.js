// Scripts the editor offers to load; the first one is where a visitor starts. Those with
// `data: true` need the data runtime (pandas, matplotlib...), and come with their input files.
const WEATHER = `day,city,temp_c,rain_mm
1,Oslo,3.5,1.2
2,Oslo,4.5,0.0
3,Oslo,2.0,5.1
1,Rome,15.0,0.0
2,Rome,17.5,0.4
3,Rome,16.0,0.0
1,Lima,19.0,0.0
2,Lima,18.5,0.0
3,Lima,20.5,0.1
`;

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
  {
    name: "A pandas table (data runtime)",
    data: true,
    script: `import pandas as pd

weather = pd.read_csv("weather.csv")
summary = weather.groupby("city").agg(mean_temp=("temp_c", "mean"), total_rain=("rain_mm", "sum"))
print(summary.round(1))
summary.to_csv("summary.csv")
`,
    files: [{ name: "weather.csv", text: WEATHER }],
  },
  {
    name: "A matplotlib plot (data runtime)",
    data: true,
    script: `import matplotlib.pyplot as plt
import pandas as pd

weather = pd.read_csv("weather.csv")
for city, days in weather.groupby("city"):
    plt.plot(days["day"], days["temp_c"], marker="o", label=city)
plt.xlabel("day")
plt.ylabel("°C")
plt.title("Temperature by city")
plt.legend()
plt.show()  # saved as figure-1.png among the run's files
`,
    files: [{ name: "weather.csv", text: WEATHER }],
  },
];
