// One wake-up of Android auto-measure, free of Android: the WorkManager worker calls
// it and schedules the next wake-up at the time it returns; the JVM tests call it
// directly. The engine decides (spacing, active hours, data budgets, battery,
// cellular only, backoff); this class only obeys, and sends what is pending.
package org.ispeed.shell

import org.ispeed.core.AutoDecision
import org.ispeed.core.Engine
import org.ispeed.core.IspeedException
import org.ispeed.core.MeasureListener
import org.ispeed.core.Measurement
import org.ispeed.core.ProgressEvent
import java.time.Instant

/** What one wake-up did, and when to wake up next. */
data class WakeOutcome(
    /** The engine's decision at this wake-up. */
    val decision: AutoDecision?,
    /** The measurement made, when the decision said to run and it succeeded. */
    val measurement: Measurement? = null,
    /** Why the measurement or the upload failed, if it did (it is stored either way). */
    val error: ErrorMessage? = null,
    /** Samples the collector confirmed at this wake-up. */
    val uploaded: Int = 0,
) {
    /** When to wake up again; null when auto-measure is off. */
    val nextWakeAt: Instant? get() = decision?.nextCheckAt
}

/**
 * Runs one wake-up: nothing when auto-measure is off; otherwise asks the engine,
 * measures when it says so ([bind] wraps the run, for the Android shell to bind its
 * sockets to the cellular network), then flushes pending uploads when a collector
 * is set. Failures are stored by the engine and counted by its backoff.
 */
class AutoMeasure(private val engine: Engine) {
    suspend fun wake(bind: suspend (suspend () -> Measurement) -> Measurement = { it() }): WakeOutcome {
        if (!engine.settings().autoMeasure) return WakeOutcome(decision = null)
        val decision = try {
            engine.autoDecision()
        } catch (e: IspeedException) {
            return WakeOutcome(decision = null, error = ErrorMessage.of(e))
        }
        if (!decision.run) return WakeOutcome(decision)
        val measured = try {
            Result.success(bind { engine.measureAuto(Quiet) })
        } catch (e: IspeedException) {
            Result.failure(e)
        }
        val uploaded = flush()
        val error = (measured.exceptionOrNull() as? IspeedException)?.let(ErrorMessage::of)
        return WakeOutcome(decision, measured.getOrNull(), error, uploaded)
    }

    /** Sends pending samples when a collector is set; a failure waits for the next wake-up. */
    private suspend fun flush(): Int {
        if (engine.settings().collector.isBlank()) return 0
        return try {
            engine.flushUploads().sent.size
        } catch (e: IspeedException) {
            0
        }
    }

    private object Quiet : MeasureListener {
        override fun onProgress(event: ProgressEvent) = Unit
    }
}
