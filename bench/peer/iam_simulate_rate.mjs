// Times @cloud-copilot/iam-simulate on the requests bench/evaluate.py gives it (a JSON file of
// simulation rounds, one round = every request one of our explains evaluates). Prints JSON:
// rounds per second over the given seconds, and the overall result of each request.
import { readFileSync } from 'node:fs'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const [file, secondsArg] = process.argv.slice(2)
const { simulations } = JSON.parse(readFileSync(file, 'utf8'))
const seconds = Number(secondsArg || '3')

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
let rounds = 0
const start = process.hrtime.bigint()
const budget = BigInt(Math.round(seconds * 1e9))
while (process.hrtime.bigint() - start < budget) {
  await round()
  rounds++
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e9
console.log(JSON.stringify({ rounds_per_s: rounds / elapsed, decisions }))
