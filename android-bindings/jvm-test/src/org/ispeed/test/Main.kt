// JVM tests of the Kotlin API: the generated bindings and the platform-neutral shell,
// against the real Rust library (loaded through JNA) and a real reference server.
package org.ispeed.test

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.ispeed.core.Area
import org.ispeed.core.Engine
import org.ispeed.core.EngineConfig
import org.ispeed.core.ExportFormat
import org.ispeed.core.IspeedException
import org.ispeed.core.MeasureListener
import org.ispeed.core.Phase
import org.ispeed.core.ProtocolKind
import org.ispeed.core.ProgressEvent
import org.ispeed.core.Server
import org.ispeed.core.Transport
import org.ispeed.shell.AutoMeasure
import org.ispeed.shell.MeasureController
import java.net.URI
import java.nio.file.Files
import java.time.Instant
import java.util.Collections
import kotlin.system.exitProcess

/** Emulated link: a 4G cell on a fair day. */
const val DOWN_MBPS = 40
const val UP_MBPS = 20
const val RTT_MS = 20

/** Records every event, and completes [firstTransfer] on the first download interval. */
class Recorder : MeasureListener {
    val events: MutableList<ProgressEvent> = Collections.synchronizedList(mutableListOf())
    val firstTransfer = CompletableDeferred<Unit>()

    override fun onProgress(event: ProgressEvent) {
        events += event
        if (event is ProgressEvent.Interval && event.phase == Phase.DOWNLOAD) firstTransfer.complete(Unit)
    }

    fun snapshot(): List<ProgressEvent> = synchronized(events) { events.toList() }
}

/** An engine on a fresh data directory, with short phases to keep the suite quick. */
fun newEngine(platform: TestPlatform, server: ReferenceServer): Engine {
    val dir = scratchDir("ispeed-kotlin-test").toString()
    val engine = Engine(EngineConfig(dataDir = dir), platform)
    engine.updateSettings(
        engine.settings().copy(server = Server(url = server.url, protocol = ProtocolKind.ISPEED), maxSeconds = 3u, maxMegabytes = 20u),
    )
    return engine
}

/** Runs [block] and returns the engine error it throws. */
inline fun <reified E : IspeedException> expectError(block: () -> Unit): E {
    try {
        block()
    } catch (e: IspeedException) {
        check(e is E) { "expected ${E::class.simpleName}, got ${e::class.simpleName}: ${e.message}" }
        return e as E
    }
    throw AssertionFailed("expected ${E::class.simpleName}, but the call succeeded")
}

fun main() {
    val server = ReferenceServer.start(DOWN_MBPS, UP_MBPS, RTT_MS)
    println("reference server pid ${server.pid} at ${server.url} ($DOWN_MBPS/$UP_MBPS Mbit/s, +$RTT_MS ms)")
    val failures = try {
        suite(server).apply { sharedHoldTests() }.run()
    } finally {
        server.close()
    }
    exitProcess(if (failures == 0) 0 else 1)
}

fun suite(server: ReferenceServer) = Suite().apply {
    test("measure_against_reference_server") {
        val platform = TestPlatform()
        val engine = newEngine(platform, server)
        val recorder = Recorder()
        val m = runBlocking { withTimeout(40_000) { engine.measure(null, recorder) } }

        val latency = m.latency ?: throw AssertionFailed("no latency result")
        check(latency.samples == 10u) { "latency samples ${latency.samples}" }
        // The emulated link adds 20 ms to every round trip.
        check(latency.medianMs >= RTT_MS * 0.9) { "median RTT ${latency.medianMs} ms below the emulated $RTT_MS ms" }
        val down = m.download ?: throw AssertionFailed("no download result")
        val up = m.upload ?: throw AssertionFailed("no upload result")
        // Loose bounds: right order of magnitude, never above the emulated rate.
        check(down.mbps > DOWN_MBPS * 0.25 && down.mbps < DOWN_MBPS * 1.15) { "download ${down.mbps} Mbit/s" }
        check(up.mbps > UP_MBPS * 0.25 && up.mbps < UP_MBPS * 1.15) { "upload ${up.mbps} Mbit/s" }
        check(down.bytes <= 20_000_000uL) { "download used ${down.bytes} bytes, budget 20 MB" }
        check(m.valid) { "sample marked invalid: ${m.invalidReason}" }
        // What the Kotlin platform reported crossed into the result document.
        check(m.network.transport == Transport.CELLULAR && m.network.operator == TEST_OPERATOR) { "network ${m.network}" }
        check(m.documentJson.contains("\"schema\":\"ispeed.result/1\"")) { "document ${m.documentJson.take(80)}" }
        check(m.documentJson.contains("\"platform\":\"jvm-test\"")) { "device missing from the document" }
        // The sample was stored before measure() returned, and history reads it back.
        val history = engine.history(10u)
        check(history.map { it.id } == listOf(m.id)) { "history ${history.map { it.id }}, measured ${m.id}" }
        println("     measured: ${"%.1f".format(latency.medianMs)} ms, " +
            "${"%.1f".format(down.mbps)} down, ${"%.1f".format(up.mbps)} up Mbit/s")
    }

    test("progress_callbacks_arrive_in_phase_order") {
        val engine = newEngine(TestPlatform(), server)
        val recorder = Recorder()
        runBlocking { withTimeout(40_000) { engine.measure(null, recorder) } }
        val events = recorder.snapshot()
        val started = events.filterIsInstance<ProgressEvent.PhaseStarted>().map { it.phase }
        val finished = events.filterIsInstance<ProgressEvent.PhaseFinished>().map { it.phase }
        val order = listOf(Phase.LATENCY, Phase.DOWNLOAD, Phase.UPLOAD)
        check(started == order) { "phases started: $started" }
        check(finished == order) { "phases finished: $finished" }
        val idleRtts = events.filterIsInstance<ProgressEvent.Rtt>().count { it.phase == Phase.LATENCY }
        check(idleRtts == 10) { "idle RTT events: $idleRtts" }
        for (phase in listOf(Phase.DOWNLOAD, Phase.UPLOAD)) {
            val intervals = events.filterIsInstance<ProgressEvent.Interval>().filter { it.phase == phase }
            check(intervals.size >= 2) { "$phase intervals: ${intervals.size}" }
            check(intervals.zipWithNext().all { (a, b) -> b.bytes >= a.bytes }) { "$phase bytes went backwards" }
        }
        println("     ${events.size} events")
    }

    test("wifi_platform_gets_the_wifi_error") {
        val platform = TestPlatform(Transport.WIFI)
        val engine = newEngine(platform, server)
        val recorder = Recorder()
        val e = expectError<IspeedException.WifiOn> {
            runBlocking { withTimeout(10_000) { engine.measure(null, recorder) } }
        }
        check(e.code == "wifi_on") { "code ${e.code}" }
        check(e.reason.contains("Wi-Fi")) { "reason ${e.reason}" }
        check(recorder.snapshot().isEmpty()) { "refused measurement still emitted ${recorder.snapshot().size} events" }
        check(platform.networkCalls.get() >= 1) { "the engine never asked the platform" }
    }

    test("cancel_handle_stops_a_running_measurement") {
        val engine = newEngine(TestPlatform(), server)
        val recorder = Recorder()
        val handle = engine.startMeasure(null, recorder)
        runBlocking {
            withTimeout(20_000) { recorder.firstTransfer.await() }
            check(!handle.isFinished()) { "finished before the cancel" }
            val cancelledAt = System.nanoTime()
            handle.cancel()
            val e = expectError<IspeedException.Cancelled> { runBlocking { withTimeout(5_000) { handle.wait() } } }
            val ms = (System.nanoTime() - cancelledAt) / 1_000_000
            check(e.code == "cancelled") { "code ${e.code}" }
            check(handle.isFinished()) { "not finished after wait()" }
            println("     cancelled within $ms ms")
        }
        handle.close()
    }

    test("cancelling_the_coroutine_cancels_the_measurement") {
        val engine = newEngine(TestPlatform(), server)
        val recorder = Recorder()
        runBlocking {
            val job = async(Dispatchers.Default) { engine.measure(null, recorder) }
            withTimeout(20_000) { recorder.firstTransfer.await() }
            job.cancel()
            // Events already queued may still land; after that, silence.
            delay(500)
            val settled = recorder.snapshot().size
            delay(1_500)
            val later = recorder.snapshot().size
            check(later == settled) { "${later - settled} events after the coroutine was cancelled" }
            check(recorder.snapshot().none { it is ProgressEvent.PhaseStarted && it.phase == Phase.UPLOAD }) {
                "the upload phase started after cancellation"
            }
        }
    }

    test("controller_tracks_a_measurement_and_keeps_session_results") {
        val engine = newEngine(TestPlatform(), server)
        runBlocking {
            val controller = MeasureController(engine, this)
            val job = controller.measure() ?: throw AssertionFailed("measure() did not start")
            check(controller.measure() == null) { "a second measurement started while one runs" }
            withTimeout(40_000) { job.join() }
            val s = controller.state.value
            check(!s.running && s.error == null) { "state after the run: $s" }
            check(s.recent.size == 1) { "recent ${s.recent.size}" }
            check(s.downloadMbps == s.recent[0].download?.mbps) { "shown ${s.downloadMbps} vs ${s.recent[0].download?.mbps}" }
            check(s.events > 20) { "events ${s.events}" }
            // A new controller (the screen opened again) starts from the stored history.
            val reopened = MeasureController(engine, this)
            check(reopened.state.value.recent.map { it.id } == s.recent.map { it.id }) { "history not loaded" }
            check(reopened.joinArea("commune=") != null) { "an empty area was accepted" }
            check(reopened.joinArea("Hà Nội/Ba Vì/Tản Lĩnh") == null) { "area refused" }
            check(reopened.state.value.area?.commune == "Tản Lĩnh") { "area ${reopened.state.value.area}" }
        }
    }

    test("official_area_is_searched_and_kept_as_a_code") {
        val engine = newEngine(TestPlatform(), server)
        runBlocking {
            val controller = MeasureController(engine, this)
            // The screen's list comes from the engine: accents and case do not matter.
            val found = controller.searchAreas("DAN TIEN")
            val first = found.firstOrNull() ?: throw AssertionFailed("no match for dan tien")
            check(first.code == 5755u && first.level == "commune") { "first match $first" }
            check(first.label == "Xã Dân Tiến, Thái Nguyên") { "label ${first.label}" }
            check(controller.searchAreas("").isEmpty()) { "an empty search matched" }
            check(controller.searchAreas("thai nguyen", 5).size == 5) { "limit not kept" }
            check(org.ispeed.core.areaByCode(5755u)?.provinceName == "Thái Nguyên") { "lookup by code" }
            check(org.ispeed.core.areaByCode(999999u) == null) { "an unknown code was found" }
            // An unknown code is refused with the area's error code; a known one is kept
            // with the official names and the hamlet typed under it.
            val refused = controller.joinCommune(999999u)
            check(refused?.code == "invalid_area") { "unknown code: $refused" }
            check(controller.joinCommune(first.code, " Thôn 3 ") == null) { "code refused" }
            val area = controller.state.value.area ?: throw AssertionFailed("no area")
            check(area.code == 5755u && area.commune == "Xã Dân Tiến" && area.province == "Thái Nguyên") { "area $area" }
            check(area.hamlet == "Thôn 3") { "hamlet ${area.hamlet}" }
            check(engine.area() == area) { "stored ${engine.area()}" }
        }
    }

    test("settings_are_validated_and_persisted") {
        val platform = TestPlatform()
        val dir = scratchDir("ispeed-settings").toString()
        val engine = Engine(EngineConfig(dataDir = dir), platform)
        val e = expectError<IspeedException.InvalidInput> {
            engine.updateSettings(engine.settings().copy(streams = 40u))
        }
        check(e.code == "invalid_config") { "code ${e.code}" }
        engine.updateSettings(engine.settings().copy(autoMeasure = true, streams = 2u))
        engine.close()
        val reopened = Engine(EngineConfig(dataDir = dir), platform)
        val s = reopened.settings()
        check(s.autoMeasure && s.streams.toInt() == 2 && s.cellularOnly) { "settings after reopening: $s" }
    }

    test("closed_port_gives_a_network_error") {
        val engine = newEngine(TestPlatform(), server)
        val port = java.net.ServerSocket(0).use { it.localPort }
        val e = expectError<IspeedException.Network> {
            runBlocking { withTimeout(20_000) { engine.measure(Server(url = "http://127.0.0.1:$port", protocol = ProtocolKind.ISPEED), Recorder()) } }
        }
        check(e.code == "connection_refused") { "code ${e.code}: ${e.reason}" }
    }

    test("throwing_platform_is_an_error_not_a_crash") {
        val platform = TestPlatform()
        platform.failure = IllegalStateException("radio service unavailable")
        val engine = newEngine(platform, server)
        val e = expectError<IspeedException.Internal> {
            runBlocking { withTimeout(10_000) { engine.measure(null, Recorder()) } }
        }
        check(e.code == "internal") { "code ${e.code}" }
    }

    test("auto_measure_obeys_the_engine_decision") {
        val wifi = TestPlatform(Transport.WIFI)
        val engine = newEngine(wifi, server)
        val auto = AutoMeasure(engine)
        // Switched off: the wake-up does nothing and asks for no next wake-up.
        val off = runBlocking { auto.wake() }
        check(off.decision == null && off.measurement == null) { "auto-measure off: $off" }
        engine.updateSettings(engine.settings().copy(autoMeasure = true))
        // On Wi-Fi the engine says no, and when to look again.
        val onWifi = runBlocking { auto.wake() }
        val d = onWifi.decision ?: throw AssertionFailed("no decision")
        check(!d.run && d.reason == "wifi_connected") { "on Wi-Fi: ${d.reason} ${d.message}" }
        check(d.nextCheckAt.isAfter(Instant.now())) { "next check ${d.nextCheckAt} is not ahead" }
        check(onWifi.measurement == null && engine.history(10u).isEmpty()) { "measured on Wi-Fi" }
        // On cellular the first wake-up measures, within the auto budgets, marked auto.
        wifi.transport = Transport.CELLULAR
        val first = runBlocking { withTimeout(40_000) { auto.wake() } }
        check(first.decision?.reason == "first_run") { "first wake-up: ${first.decision}" }
        val m = first.measurement ?: throw AssertionFailed("no measurement: ${first.error}")
        check(m.documentJson.contains("\"mode\":\"auto\"")) { "mode missing: ${m.documentJson.take(200)}" }
        // Right after it, the drawn spacing has not passed: no second run.
        val second = runBlocking { auto.wake() }
        check(second.decision?.run == false && second.measurement == null) { "second wake-up: ${second.decision}" }
        check(engine.history(10u).size == 1) { "history ${engine.history(10u).size}" }
        println("     first: ${first.decision?.reason}; then ${second.decision?.reason}, " +
            "next check at ${second.nextWakeAt}")
    }

    test("daily_status_counts_valid_cellular_measurements") {
        val platform = TestPlatform()
        val engine = newEngine(platform, server)
        val before = engine.dailyStatus()
        check(before.doneToday == 0u && before.target == 3u && before.remaining == 3u) { "before: $before" }
        val now = Instant.now()
        check(before.upcomingReminders.isNotEmpty() && before.upcomingReminders.all { it.isAfter(now) }) {
            "reminders ${before.upcomingReminders}"
        }
        check(before.upcomingReminders.zipWithNext().all { (a, b) -> a.isBefore(b) }) { "reminders out of order" }
        check(before.nextReminderAt == before.upcomingReminders.first()) { "next ${before.nextReminderAt}" }
        runBlocking { withTimeout(40_000) { engine.measure(null, Recorder()) } }
        // A Wi-Fi attempt is refused and does not count.
        platform.transport = Transport.WIFI
        expectError<IspeedException.WifiOn> { runBlocking { engine.measure(null, Recorder()) } }
        val after = engine.dailyStatus()
        check(after.doneToday == 1u && after.remaining == 2u) { "after: $after" }
        // The target and reminder times come from the settings.
        engine.updateSettings(engine.settings().copy(dailyTarget = 1u, reminderTimes = listOf("07:30")))
        val met = engine.dailyStatus()
        check(met.remaining == 0u && met.nextReminderAt == null && met.upcomingReminders.size == 1) { "met: $met" }
        println("     ${after.doneToday}/${after.target} today, next reminder ${after.nextReminderAt}")
    }

    test("area_is_set_once_and_reaches_the_collector_count") {
        val engine = newEngine(TestPlatform(), server)
        engine.updateSettings(engine.settings().copy(collector = server.url))
        val commune = "Tản Lĩnh ${System.nanoTime()}"
        val area = engine.parseArea("Hà Nội/Ba Vì/$commune/Thôn 3")
        check(area.commune == commune && area.hamlet == "Thôn 3") { "parsed $area" }
        check(engine.area() == null) { "area before setting: ${engine.area()}" }
        check(engine.setArea(area) == area) { "first choice not kept" }
        // A second, different choice does not move the participant.
        check(engine.setArea(Area(commune = "Vân Hòa")) == area) { "area moved" }
        val m = runBlocking { withTimeout(40_000) { engine.measure(null, Recorder()) } }
        check(m.documentJson.contains(commune) && m.documentJson.contains("\"install_id\"")) {
            "participant missing: ${m.documentJson.take(300)}"
        }
        check(m.documentJson.contains("\"mode\":\"manual\"")) { "mode missing" }
        // The engine sent the sample right after storing it: a flush finds nothing left.
        val report = runBlocking { withTimeout(30_000) { engine.flushUploads() } }
        check(report.sent.isEmpty() && report.remaining == 0u) { "flush: $report" }
        // The collector counts this install once in its commune today.
        val q = java.net.URLEncoder.encode(commune, Charsets.UTF_8)
        val progress = URI("${server.url}/v1/campaign/progress?area=$q").toURL().readText()
        check(progress.contains("\"totals\":{\"participants\":1,\"samples\":1")) { "progress: ${progress.take(400)}" }
    }

    test("a_fresh_install_with_the_example_profile_takes_part") {
        // The journey of the virtual phone (tests/tests/virtual_phone.rs), shortened,
        // through the generated Kotlin: default settings plus the operator's profile,
        // pointed at the reference server and its collector.
        val example = System.getProperty("ispeed.profile")
            ?: throw AssertionFailed("-Dispeed.profile=<examples/ispeed-vn.json> is not set")
        val text = Files.readString(java.nio.file.Path.of(example))
        check(text.contains("\"schema\": \"ispeed.profile/1\"")) { "not a profile: ${text.take(80)}" }
        // Point the example's servers and collector at the reference server, keeping
        // every other field (time zone, targets, budgets) as the operator wrote it.
        val profile = text
            .replace(Regex("\"url\": \"https://[^\"]+\""), "\"url\": \"${server.url}/\"")
            .replace(Regex("\"protocol\": \"librespeed\""), "\"protocol\": \"ispeed\"")
            .replace(Regex("\"collector\": \"[^\"]+\""), "\"collector\": \"${server.url}/\"")
        val platform = TestPlatform()
        val dir = scratchDir("ispeed-journey").toString()
        val engine = Engine(EngineConfig(dataDir = dir, profileJson = profile), platform)
        check(engine.settings().server.url.isEmpty()) { "a fresh install names no server" }
        check(engine.campaign()?.startsWith("i-Speed") == true) { "campaign ${engine.campaign()}" }
        engine.setArea(engine.parseArea("Hà Nội/Ba Vì/Tản Lĩnh ${System.nanoTime()}/Thôn 1"))
        // Measure now: the profile's servers are ranked, the nearest measured,
        // the sample stored and sent without a flush.
        val m = runBlocking { withTimeout(60_000) { engine.measure(null, Recorder()) } }
        check(m.server.url == "${server.url}/") { "measured ${m.server.url}" }
        check(m.valid) { "invalid: ${m.invalidReason}" }
        val noneLeft = runBlocking { engine.flushUploads() }
        check(noneLeft.sent.isEmpty() && noneLeft.remaining == 0u) { "sent after measuring: $noneLeft" }
        // A tap while a measurement runs is refused with `busy`.
        val recorder = Recorder()
        val running = engine.startMeasure(null, recorder)
        runBlocking { withTimeout(30_000) { recorder.firstTransfer.await() } }
        val busy = expectError<IspeedException.Busy> {
            runBlocking { withTimeout(10_000) { engine.measure(null, Recorder()) } }
        }
        check(busy.code == "busy") { "code ${busy.code}" }
        runBlocking { withTimeout(60_000) { running.wait() } }
        // The worker's wake: one call, auto-measure on, the next wake booked.
        engine.updateSettings(engine.settings().copy(autoMeasure = true))
        val wake = runBlocking { withTimeout(60_000) { AutoMeasure(engine).wake() } }
        check(wake.error == null) { "wake: ${wake.error}" }
        check(wake.nextWakeAt?.isAfter(Instant.now()) == true) { "next wake ${wake.nextWakeAt}" }
        // The iPhone's routine: one call, a week of reminders with their text keys.
        val plan = runBlocking { engine.refreshRoutine() }
        check(plan.reminders.size >= 18) { "reminders ${plan.reminders.size}" }
        check(plan.reminders.map { it.textKey }.toSet() == setOf("reminder_first", "reminder_again", "reminder_last")) {
            "keys ${plan.reminders.map { it.textKey }.toSet()}"
        }
        check(plan.pending == 0u) { "pending ${plan.pending}" }
        println("     profile: measured ${m.server.url}, ${engine.history(10u).size} stored, all sent; " +
            "${plan.reminders.size} reminders booked")
    }

    test("a_malformed_profile_is_refused_naming_the_field") {
        val dir = scratchDir("ispeed-bad-profile").toString()
        val e = expectError<IspeedException.InvalidInput> {
            Engine(EngineConfig(dataDir = dir, profileJson = "{\"schema\": \"ispeed.profile/1\"}"), TestPlatform())
        }
        check(e.code == "invalid_profile" && e.reason.contains("campaign")) { "${e.code}: ${e.reason}" }
    }

    test("flush_without_a_collector_is_an_actionable_error") {
        val engine = newEngine(TestPlatform(), server)
        val e = expectError<IspeedException.InvalidInput> { runBlocking { engine.flushUploads() } }
        check(e.reason.contains("collector")) { "reason ${e.reason}" }
    }

    test("export_and_daily_summaries_read_the_store") {
        val engine = newEngine(TestPlatform(), server)
        val m = runBlocking { withTimeout(40_000) { engine.measure(null, Recorder()) } }
        val dir = scratchDir("ispeed-export")
        val csv = dir.resolve("samples.csv")
        check(engine.export(ExportFormat.CSV, csv.toString()) == 1u) { "csv count" }
        val lines = Files.readAllLines(csv)
        check(lines.size == 2 && lines[0].startsWith("id,") && lines[1].startsWith(m.id)) { "csv: $lines" }
        val jsonl = dir.resolve("samples.jsonl")
        check(engine.export(ExportFormat.JSON_LINES, jsonl.toString()) == 1u) { "json count" }
        check(Files.readAllLines(jsonl).single().contains(m.id)) { "json lines" }
        val days = engine.dailySummaries(7u)
        check(days.size == 1 && days[0].samples == 1u && days[0].valid == 1u) { "days: $days" }
        check(days[0].downloadMbps == m.download?.mbps) { "median of one sample: ${days[0].downloadMbps}" }
    }
}
