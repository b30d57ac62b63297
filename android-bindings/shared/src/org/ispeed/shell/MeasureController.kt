// The measure screen's logic, free of Android: it compiles and is tested on the JVM
// (`cargo xtask kotlin-test`) and is used unchanged by the Compose screen and the
// worker. It holds no measurement, policy or storage logic: it forwards to the Rust
// engine and turns its callbacks into one observable state.
package org.ispeed.shell

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.ispeed.core.Area
import org.ispeed.core.Engine
import org.ispeed.core.IspeedException
import org.ispeed.core.MeasureHandle
import org.ispeed.core.MeasureListener
import org.ispeed.core.Measurement
import org.ispeed.core.OfficialArea
import org.ispeed.core.Phase
import org.ispeed.core.ProgressEvent
import org.ispeed.core.Server

/** How many matches the area search shows. */
const val AREA_RESULTS: Int = 20

/** What the measure screen shows. Immutable: every change is a new value. */
data class MeasureState(
    /** A measurement is running. */
    val running: Boolean = false,
    /** The phase running now. */
    val phase: Phase? = null,
    /** Median idle round trip of the running or last measurement, ms. */
    val latencyMs: Double? = null,
    /** Live (running estimate) or final download, Mbit/s. */
    val downloadMbps: Double? = null,
    /** Live (running estimate) or final upload, Mbit/s. */
    val uploadMbps: Double? = null,
    /** Progress events received for the running measurement. */
    val events: Int = 0,
    /** The latest measurements, newest first: the stored history, then this session's. */
    val recent: List<Measurement> = emptyList(),
    /** Why the last measurement failed, if it did. */
    val error: ErrorMessage? = null,
    /** The campaign area the participant chose, once chosen. */
    val area: Area? = null,
)

/**
 * A failure as the screen shows it: the shell looks [code] up in its translated
 * strings (Vietnamese, English) and falls back to the engine's English [text].
 */
data class ErrorMessage(val code: String, val text: String) {
    companion object {
        /** The message of an engine error. */
        fun of(e: IspeedException): ErrorMessage = when (e) {
            is IspeedException.InvalidInput -> ErrorMessage(e.code, e.reason)
            is IspeedException.WifiOn -> ErrorMessage(e.code, e.reason)
            is IspeedException.Network -> ErrorMessage(e.code, e.reason)
            is IspeedException.Server -> ErrorMessage(e.code, e.reason)
            is IspeedException.Cancelled -> ErrorMessage(e.code, e.reason)
            is IspeedException.Busy -> ErrorMessage(e.code, e.reason)
            is IspeedException.Storage -> ErrorMessage(e.code, e.reason)
            is IspeedException.Internal -> ErrorMessage(e.code, e.reason)
        }
    }
}

/**
 * Runs measurements for a screen: [measure] starts one, [cancel] stops it, [state]
 * tells what to draw. Callbacks arrive on the engine's threads; [MutableStateFlow]
 * makes each update atomic, and the UI collects the flow on its own thread.
 */
class MeasureController(
    private val engine: Engine,
    private val scope: CoroutineScope,
    /** How many of this session's results [MeasureState.recent] keeps. */
    private val keep: Int = 20,
) {
    private val _state = MutableStateFlow(
        // What the store already holds; a broken store shows as the error, not a crash.
        try {
            MeasureState(recent = engine.history(keep.toUInt()), area = engine.area())
        } catch (e: IspeedException) {
            MeasureState(error = ErrorMessage.of(e))
        },
    )

    /** The screen's state. */
    val state: StateFlow<MeasureState> = _state.asStateFlow()

    @Volatile
    private var handle: MeasureHandle? = null

    /** Whether the phone measures by itself (Android); stored by the engine. */
    var autoMeasure: Boolean
        get() = engine.settings().autoMeasure
        set(value) = engine.updateSettings(engine.settings().copy(autoMeasure = value))

    /**
     * Starts a measurement against [server] (the settings' server when null), unless
     * one is running. Returns the job that completes when it ends, or null.
     */
    fun measure(server: Server? = null): Job? {
        synchronized(this) {
            if (handle != null) return null
            _state.update {
                it.copy(running = true, phase = null, latencyMs = null, downloadMbps = null,
                    uploadMbps = null, events = 0, error = null)
            }
            val h = try {
                engine.startMeasure(server, Listener())
            } catch (e: IspeedException) {
                _state.update { it.copy(running = false, error = ErrorMessage.of(e)) }
                return null
            }
            handle = h
            return scope.launch { finish(h) }
        }
    }

    /**
     * Joins the campaign area typed as one line (`province/district/commune/hamlet`,
     * or `commune=...,hamlet=...`, or `org=...`). The first choice stays: the state
     * shows the area in force. Returns the error to show, or null.
     */
    fun joinArea(text: String): ErrorMessage? = try {
        val area = engine.setArea(engine.parseArea(text))
        _state.update { it.copy(area = area) }
        null
    } catch (e: IspeedException) {
        ErrorMessage.of(e)
    }

    /**
     * The provinces and communes of the official catalogue whose names match [text]
     * (accents and case ignored), best first: the list the area screen shows. The
     * engine searches; an empty text gives an empty list.
     */
    fun searchAreas(text: String, limit: Int = AREA_RESULTS): List<OfficialArea> =
        org.ispeed.core.searchAreas(text, limit.coerceAtLeast(0).toUInt())

    /**
     * Joins the commune chosen from [searchAreas] by its official [code], with an
     * optional hamlet, village or organisation typed under it. The engine fills the
     * official names; the first choice stays. Returns the error to show, or null.
     */
    fun joinCommune(code: UInt, hamlet: String = ""): ErrorMessage? = try {
        val area = engine.setArea(Area(code = code, hamlet = hamlet.trim().ifEmpty { null }))
        _state.update { it.copy(area = area) }
        null
    } catch (e: IspeedException) {
        ErrorMessage.of(e)
    }

    /** Stops the running measurement, if any; the state then shows `cancelled`. */
    fun cancel() {
        handle?.cancel()
    }

    private suspend fun finish(h: MeasureHandle) {
        try {
            val m = h.wait()
            _state.update {
                it.copy(
                    latencyMs = m.latency?.medianMs,
                    downloadMbps = m.download?.mbps,
                    uploadMbps = m.upload?.mbps,
                    recent = (listOf(m) + it.recent).take(keep),
                )
            }
        } catch (e: IspeedException) {
            _state.update { it.copy(error = ErrorMessage.of(e)) }
        } finally {
            synchronized(this) { handle = null }
            // Releasing the handle frees the Rust side at once, not at the next GC.
            h.close()
            _state.update { it.copy(running = false, phase = null) }
        }
    }

    /** Turns engine events into state. */
    private inner class Listener : MeasureListener {
        override fun onProgress(event: ProgressEvent) {
            _state.update { s ->
                val counted = s.copy(events = s.events + 1)
                when (event) {
                    is ProgressEvent.PhaseStarted -> counted.copy(phase = event.phase)
                    is ProgressEvent.Interval -> {
                        val live = event.estimateMbps ?: event.mbps
                        if (event.phase == Phase.DOWNLOAD) counted.copy(downloadMbps = live)
                        else counted.copy(uploadMbps = live)
                    }
                    is ProgressEvent.PhaseFinished -> when (event.phase) {
                        Phase.LATENCY -> counted.copy(latencyMs = event.value)
                        Phase.DOWNLOAD -> counted.copy(downloadMbps = event.value)
                        Phase.UPLOAD -> counted.copy(uploadMbps = event.value)
                    }
                    is ProgressEvent.Rtt -> counted
                }
            }
        }
    }
}
