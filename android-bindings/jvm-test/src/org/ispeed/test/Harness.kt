// A minimal test runner: no JUnit on this machine's class path, and none needed for a
// handful of end-to-end tests. Prints one line per test and a final
// `N passed, M failed`; the process exits non-zero when anything failed.
package org.ispeed.test

/** A failed expectation. */
class AssertionFailed(message: String) : Exception(message)

/** Fails the running test with [message] unless [condition] holds. */
fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionFailed(message())
}

/** Runs named tests in order and reports. */
class Suite {
    private val tests = mutableListOf<Pair<String, () -> Unit>>()

    /** Registers a test. */
    fun test(name: String, body: () -> Unit) {
        tests += name to body
    }

    /** Runs every test; returns the number of failures. */
    fun run(): Int {
        var passed = 0
        var failed = 0
        for ((name, body) in tests) {
            val start = System.nanoTime()
            val error = try {
                body()
                null
            } catch (e: Throwable) {
                e
            }
            val ms = (System.nanoTime() - start) / 1_000_000
            if (error == null) {
                passed++
                println("PASS $name ($ms ms)")
            } else {
                failed++
                println("FAIL $name ($ms ms): ${error::class.simpleName}: ${error.message}")
            }
        }
        println("$passed passed, $failed failed")
        return failed
    }
}

/** Every scratch directory of this run, removed when the JVM exits. */
private val scratchDirs = java.util.concurrent.ConcurrentLinkedQueue<java.nio.file.Path>().also { dirs ->
    Runtime.getRuntime().addShutdownHook(Thread { dirs.forEach { it.toFile().deleteRecursively() } })
}

/** A fresh directory under the system's temp dir, removed when the suite ends. */
fun scratchDir(prefix: String): java.nio.file.Path =
    java.nio.file.Files.createTempDirectory(prefix).also { scratchDirs.add(it) }
