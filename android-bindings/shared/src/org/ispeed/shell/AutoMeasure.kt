// One wake-up of Android auto-measure, free of Android: the WorkManager worker calls
// it and schedules the next wake-up at the time it returns; the JVM tests call it
// directly. The engine does the whole wake in one call (the auto-measure decision,
// the measurement, the upload of what is pending, the next wake time); this class
// only hands it the cellular binding and translates the answer.
package org.ispeed.shell

import org.ispeed.core.AutoDecision
import org.ispeed.core.Engine
import org.ispeed.core.MeasureListener
import org.ispeed.core.Measurement
import org.ispeed.core.ProgressEvent
import org.ispeed.core.WakeReport
import java.time.Instant

/** What one wake-up did, and when to wake up next. */
data class WakeOutcome(
    /** The engine's decision at this wake-up; null when auto-measure is off. */
    val decision: AutoDecision?,
    /** The measurement made, when the decision said to run and it produced a sample. */
    val measurement: Measurement? = null,
    /** Why the measurement or the upload failed, if it did (it is stored either way). */
    val error: ErrorMessage? = null,
    /** Samples the collector confirmed at this wake-up. */
    val uploaded: Int = 0,
    /**
     * When to wake up again: always set while auto-measure is on, and while samples
     * wait for the collector; null otherwise.
     */
    val nextWakeAt: Instant? = decision?.nextCheckAt,
) {
    companion object {
        /** The engine's report as the worker reads it. */
        fun of(report: WakeReport): WakeOutcome = WakeOutcome(
            decision = report.decision,
            measurement = report.measurement,
            error = report.errorCode?.let { ErrorMessage(it, report.errorMessage ?: it) },
            uploaded = report.uploaded.toInt(),
            nextWakeAt = report.nextWakeAt,
        )
    }
}

/**
 * Runs one wake-up: one call to the engine's `wake`, wrapped by [bind] (the Android
 * shell binds the process to the cellular network around it). The engine never
 * throws from `wake`; what failed is in the outcome, and the engine stored it.
 */
class AutoMeasure(private val engine: Engine) {
    suspend fun wake(bind: suspend (suspend () -> WakeReport) -> WakeReport = { it() }): WakeOutcome =
        WakeOutcome.of(bind { engine.wake(Quiet) })

    private object Quiet : MeasureListener {
        override fun onProgress(event: ProgressEvent) = Unit
    }
}
