// Times @cloud-copilot/iam-simulate on the requests bench/evaluate.py gives it (a JSON file of
// simulation rounds, one round = every request one of our explains evaluates). Prints JSON:
// rounds per second, the best of `windows` equal windows over the given seconds (as
// bench/evaluate.py measures its own side), and the overall result of each request.
import { readFileSync } from 'node:fs'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const [file, secondsArg, windowsArg] = process.argv.slice(2)
const { simulations } = JSON.parse(readFileSync(file, 'utf8'))
const seconds = Number(secondsArg || '3')
const windows = Number(windowsArg || '1')

async function round() {
  const results = []
  for (const simulation of simulations) {
    const response = await runSimulation(simulation, {})
    if (response.resultType === 'error') {
      throw new Error(JSON.stringify(response.errors))
    }
    results.push(response.overallResult)
  }
  return results
}

for (let i = 0; i < 50; i++) await round() // warm the JIT, as the Python side warms its caches
const decisions = await round()
let best = 0
const budget = BigInt(Math.round((seconds / windows) * 1e9))
for (let w = 0; w < windows; w++) {
  let rounds = 0
  const start = process.hrtime.bigint()
  while (process.hrtime.bigint() - start < budget) {
    await round()
    rounds++
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9
  best = Math.max(best, rounds / elapsed)
}
console.log(JSON.stringify({ rounds_per_s: best, decisions }))
