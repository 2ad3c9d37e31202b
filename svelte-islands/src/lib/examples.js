// Scripts the editor offers to load, by language (a runtime's `language`; Python's have none):
// the first of a language is where a visitor starts in it, and "Hello, world" is what a switch
// to it loads in place of an untouched example. Those with `data: true` need the data runtime
// (pandas, matplotlib...), and come with their input files.
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

const PYTHON = [
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

// Each a hello world and a program that reads its standard input (given in the stdin box).
const NAMES = "Ada\nGrace\nLinus\n";
const hello = (script) => ({ name: "Hello, world", script });
const greet = (script) => ({ name: "Read standard input", script, stdin: NAMES });
const OTHERS = {
  bash: [
    hello(`echo "Hello, Integr8sCode!"
`),
    greet(`count=0
while IFS= read -r name; do
  [ -n "$name" ] || continue
  echo "Hello, $name!"
  count=$((count + 1))
done
echo "$count greetings" >&2
`),
  ],
  javascript: [
    hello(`console.log("Hello, Integr8sCode!");
`),
    greet(`const names = require("fs").readFileSync(0, "utf8").split("\\n").filter(Boolean);
for (const name of names.sort()) {
  console.log(\`Hello, \${name}!\`);
}
console.error(\`\${names.length} greetings\`);
`),
  ],
  typescript: [
    hello(`const greeting: string = "Hello, Integr8sCode!";
console.log(greeting);
`),
    greet(`const names: string[] = require("fs").readFileSync(0, "utf8").split("\\n").filter(Boolean);
for (const name of names.sort()) {
  console.log(\`Hello, \${name}!\`);
}
console.error(\`\${names.length} greetings\`);
`),
  ],
  ruby: [
    hello(`puts "Hello, Integr8sCode!"
`),
    greet(`names = $stdin.each_line.map(&:strip).reject(&:empty?)
names.sort.each do |name|
  puts "Hello, #{name}!"
end
warn "#{names.size} greetings"
`),
  ],
  perl: [
    hello(`print "Hello, Integr8sCode!\\n";
`),
    greet(`use strict;
use warnings;

my @names = grep { length } map { chomp; $_ } <STDIN>;
print "Hello, $_!\\n" for sort @names;
print STDERR scalar(@names), " greetings\\n";
`),
  ],
  lua: [
    hello(`print("Hello, Integr8sCode!")
`),
    greet(`local names = {}
for line in io.lines() do
  if line ~= "" then table.insert(names, line) end
end
table.sort(names)
for _, name in ipairs(names) do
  print("Hello, " .. name .. "!")
end
io.stderr:write(#names .. " greetings\\n")
`),
  ],
  php: [
    hello(`<?php
echo "Hello, Integr8sCode!\\n";
`),
    greet(`<?php
$names = array_filter(array_map('trim', file('php://stdin')));
sort($names);
foreach ($names as $name) {
    echo "Hello, $name!\\n";
}
fwrite(STDERR, count($names) . " greetings\\n");
`),
  ],
  c: [
    hello(`#include <stdio.h>

int main(void) {
    printf("Hello, Integr8sCode!\\n");
    return 0;
}
`),
    greet(`#include <stdio.h>
#include <string.h>

int main(void) {
    char name[256];
    int count = 0;
    while (fgets(name, sizeof name, stdin)) {
        name[strcspn(name, "\\n")] = '\\0';
        if (name[0] == '\\0') continue;
        printf("Hello, %s!\\n", name);
        count++;
    }
    fprintf(stderr, "%d greetings\\n", count);
    return 0;
}
`),
  ],
  cpp: [
    hello(`#include <iostream>

int main() {
    std::cout << "Hello, Integr8sCode!" << std::endl;
}
`),
    greet(`#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

int main() {
    std::vector<std::string> names;
    for (std::string line; std::getline(std::cin, line);) {
        if (!line.empty()) names.push_back(line);
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        std::cout << "Hello, " << name << "!\\n";
    }
    std::cerr << names.size() << " greetings\\n";
}
`),
  ],
  go: [
    hello(`package main

import "fmt"

func main() {
	fmt.Println("Hello, Integr8sCode!")
}
`),
    greet(`package main

import (
	"bufio"
	"fmt"
	"os"
)

func main() {
	count := 0
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		if name := scanner.Text(); name != "" {
			fmt.Printf("Hello, %s!\\n", name)
			count++
		}
	}
	fmt.Fprintf(os.Stderr, "%d greetings\\n", count)
}
`),
  ],
  rust: [
    hello(`fn main() {
    println!("Hello, Integr8sCode!");
}
`),
    greet(`use std::io::{self, BufRead};

fn main() {
    let mut names: Vec<String> = io::stdin().lock().lines().map(|line| line.unwrap()).filter(|name| !name.is_empty()).collect();
    names.sort();
    for name in &names {
        println!("Hello, {}!", name);
    }
    eprintln!("{} greetings", names.len());
}
`),
  ],
  java: [
    hello(`public class Main {
    public static void main(String[] args) {
        System.out.println("Hello, Integr8sCode!");
    }
}
`),
    greet(`import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.List;
import java.util.stream.Collectors;

public class Main {
    public static void main(String[] args) {
        List<String> names = new BufferedReader(new InputStreamReader(System.in)).lines()
            .filter(name -> !name.isEmpty()).sorted().collect(Collectors.toList());
        for (String name : names) {
            System.out.println("Hello, " + name + "!");
        }
        System.err.println(names.size() + " greetings");
    }
}
`),
  ],
  r: [
    hello(`cat("Hello, Integr8sCode!\\n")
`),
    greet(`names <- readLines(file("stdin"))
names <- sort(names[names != ""])
for (name in names) cat("Hello, ", name, "!\\n", sep = "")
message(length(names), " greetings")
`),
  ],
  haskell: [
    hello(`main :: IO ()
main = putStrLn "Hello, Integr8sCode!"
`),
    greet(`import Data.List (sort)
import System.IO (hPutStrLn, stderr)

main :: IO ()
main = do
  names <- filter (not . null) . lines <$> getContents
  mapM_ (\\name -> putStrLn ("Hello, " ++ name ++ "!")) (sort names)
  hPutStrLn stderr (show (length names) ++ " greetings")
`),
  ],
};

// The examples of a language (Python's when there is no runtime to say).
export const examplesFor = (language) => (!language || language === "python" ? PYTHON : OTHERS[language] ?? []);

// A language's hello world, for a switch to it from an untouched example.
export const helloFor = (language) => examplesFor(language).find((example) => example.name === "Hello, world");

// Whether `text` is one of the examples as loaded (or nothing): replacing it loses no work.
export const isUntouchedExample = (text) =>
  !text.trim() || [PYTHON, ...Object.values(OTHERS)].some((examples) => examples.some((example) => example.script === text));
