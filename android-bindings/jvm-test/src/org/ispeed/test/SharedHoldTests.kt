// Tests of SharedHold, the use count behind the Android shell's cellular binding:
// a second holder (a tap while the worker measures) must neither bind twice nor
// unbind the first one's measurement, and no ending (return, throw, cancellation,
// even while binding) may leak a hold.
package org.ispeed.test

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.ispeed.shell.SharedHold
import java.util.Collections

/** A resource that records its acquire and release calls, in order. */
private class Recorded(private val acquireGate: CompletableDeferred<Unit>? = null) {
    val calls: MutableList<String> = Collections.synchronizedList(mutableListOf())
    val hold = SharedHold<String>(
        acquire = { who ->
            calls += "acquire by $who"
            acquireGate?.await()
        },
        release = { who -> calls += "release by $who" },
    )

    fun snapshot(): List<String> = synchronized(calls) { calls.toList() }
}

/** Registers the SharedHold tests. */
fun Suite.sharedHoldTests() {
    test("shared_hold_binds_once_for_overlapping_holders_and_releases_after_the_last") {
        val r = Recorded()
        runBlocking(Dispatchers.Default) {
            withTimeout(10_000) {
                val workerInside = CompletableDeferred<Unit>()
                val workerMayLeave = CompletableDeferred<Unit>()
                val worker = async {
                    r.hold.hold("worker") {
                        workerInside.complete(Unit)
                        workerMayLeave.await()
                    }
                }
                workerInside.await()
                // A tap while the worker measures: shares the hold, leaves first.
                r.hold.hold("tap") { check(r.hold.holders == 2) { "holders ${r.hold.holders}" } }
                check(r.snapshot() == listOf("acquire by worker")) { "the tap released the worker's hold: ${r.snapshot()}" }
                check(r.hold.holders == 1) { "holders ${r.hold.holders}" }
                workerMayLeave.complete(Unit)
                worker.await()
            }
        }
        check(r.snapshot() == listOf("acquire by worker", "release by worker")) { "${r.snapshot()}" }
        check(r.hold.holders == 0) { "holders ${r.hold.holders}" }
    }

    test("shared_hold_acquires_again_after_a_full_release") {
        val r = Recorded()
        runBlocking {
            r.hold.hold("first") { }
            r.hold.hold("second") { }
        }
        check(r.snapshot() == listOf("acquire by first", "release by first", "acquire by second", "release by second")) {
            "${r.snapshot()}"
        }
    }

    test("shared_hold_releases_when_the_block_throws") {
        val r = Recorded()
        val thrown = runCatching { runBlocking { r.hold.hold("failing") { error("radio gone") } } }
        check(thrown.exceptionOrNull()?.message == "radio gone") { "the failure was not passed on: $thrown" }
        check(r.snapshot() == listOf("acquire by failing", "release by failing")) { "${r.snapshot()}" }
        check(r.hold.holders == 0) { "holders ${r.hold.holders}" }
    }

    test("shared_hold_cancelled_while_acquiring_releases_and_a_waiting_holder_acquires_afresh") {
        // The cellular request may hang (radio idle): the caller is cancelled then.
        val gate = CompletableDeferred<Unit>()
        val r = Recorded(acquireGate = gate)
        runBlocking(Dispatchers.Default) {
            withTimeout(10_000) {
                val first = launch { r.hold.hold("cancelled") { } }
                while (r.snapshot().isEmpty()) yield()
                // A second caller arrives while the first is still acquiring: it waits.
                val secondRan = CompletableDeferred<Unit>()
                val second = launch { r.hold.hold("second") { secondRan.complete(Unit) } }
                first.cancel()
                first.join()
                gate.complete(Unit)
                second.join()
                check(secondRan.isCompleted) { "the second holder never ran" }
            }
        }
        // The cancelled acquire is released (it may have half-bound); the second holder
        // found the count at zero again and acquired for itself.
        check(
            r.snapshot() == listOf("acquire by cancelled", "release by cancelled", "acquire by second", "release by second"),
        ) { "${r.snapshot()}" }
        check(r.hold.holders == 0) { "holders ${r.hold.holders}" }
    }

    test("shared_hold_a_cancelled_holder_leaves_the_others_bound") {
        val r = Recorded()
        runBlocking(Dispatchers.Default) {
            withTimeout(10_000) {
                val inside = CompletableDeferred<Unit>()
                val leave = CompletableDeferred<Unit>()
                val worker = async { r.hold.hold("worker") { inside.complete(Unit); leave.await() } }
                inside.await()
                val tap = launch { r.hold.hold("tap") { awaitCancellation() } }
                while (r.hold.holders < 2) yield()
                tap.cancel()
                tap.join()
                check(r.hold.holders == 1) { "holders ${r.hold.holders}" }
                check(r.snapshot() == listOf("acquire by worker")) { "${r.snapshot()}" }
                leave.complete(Unit)
                worker.await()
            }
        }
        check(r.snapshot() == listOf("acquire by worker", "release by worker")) { "${r.snapshot()}" }
    }
}
