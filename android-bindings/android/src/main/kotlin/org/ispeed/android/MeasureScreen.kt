// The measure screen: Measure button, live progress, the latest results, the
// auto-measure switch, the campaign area, and the permissions: the radio context's,
// explained before it is asked, and the notifications' (Android 13+), asked when the
// user turns auto-measure on. All logic is in MeasureController (../shared,
// JVM-tested); an engine that cannot open shows why, with a button to try again.
package org.ispeed.android

import android.Manifest
import android.app.Application
import android.content.pm.PackageManager
import android.os.Build
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.core.content.ContextCompat
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.compose.viewModel
import kotlinx.coroutines.launch
import org.ispeed.core.Area
import org.ispeed.core.IspeedException
import org.ispeed.core.OfficialArea
import org.ispeed.core.Phase
import org.ispeed.shell.AREA_RESULTS
import org.ispeed.shell.ErrorMessage
import org.ispeed.shell.MeasureController

/** The engine opened, or why it could not. */
sealed interface Opened {
    /** The screen's controller over the process's engine. */
    class Ready(val controller: MeasureController) : Opened

    /** Opening the engine failed (storage full, a database from a newer app...). */
    class Failed(val error: ErrorMessage) : Opened
}

/** Holds the controller across configuration changes. */
class MeasureViewModel(app: Application) : AndroidViewModel(app) {
    /** The controller, once the engine opened. */
    var opened: Opened by mutableStateOf(open())
        private set

    /** Tries to open the engine again (after the user freed space, for example). */
    fun retryOpen() {
        opened = open()
    }

    private fun open(): Opened = try {
        Opened.Ready(MeasureController(IspeedEngine.get(getApplication()), viewModelScope))
    } catch (e: IspeedException) {
        Opened.Failed(ErrorMessage.of(e))
    }

    /**
     * Measures on the cellular network. A tap while a measurement runs shares the
     * binding (its use count) and releases only its own hold.
     */
    fun measure(controller: MeasureController) {
        viewModelScope.launch {
            CellularBinding.withCellular(getApplication()) {
                controller.measure()?.join()
            }
        }
    }

    fun setAutoMeasure(controller: MeasureController, on: Boolean) {
        controller.autoMeasure = on
        MeasureWorker.setEnabled(getApplication(), on)
    }
}

@Composable
fun MeasureScreen(model: MeasureViewModel = viewModel()) {
    when (val opened = model.opened) {
        is Opened.Ready -> Measure(model, opened.controller)
        is Opened.Failed -> Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
            Text(errorText(opened.error), color = MaterialTheme.colorScheme.error)
            Button(onClick = { model.retryOpen() }) { Text(stringResource(R.string.try_again)) }
        }
    }
}

@Composable
private fun Measure(model: MeasureViewModel, controller: MeasureController) {
    val state by controller.state.collectAsState()
    var auto by remember { mutableStateOf(controller.autoMeasure) }
    // Android 13+: the worker's notification (auto-measure held up) needs this; asked
    // when it becomes useful, and auto-measure runs whatever the answer.
    val notifications = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { }
    val context = LocalContext.current
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        PhonePermission()
        if (state.running) {
            OutlinedButton(onClick = { controller.cancel() }, modifier = Modifier.fillMaxWidth()) {
                Text(stringResource(R.string.cancel))
            }
        } else {
            Button(onClick = { model.measure(controller) }, modifier = Modifier.fillMaxWidth()) {
                Text(stringResource(R.string.measure))
            }
        }
        state.phase?.let { Text(stringResource(phaseLabel(it)), style = MaterialTheme.typography.titleMedium) }
        Figures(state.latencyMs, state.downloadMbps, state.uploadMbps)
        state.error?.let { Text(errorText(it), color = MaterialTheme.colorScheme.error) }
        Row(verticalAlignment = androidx.compose.ui.Alignment.CenterVertically) {
            Column(Modifier.weight(1f)) {
                Text(stringResource(R.string.auto_measure))
                Text(stringResource(R.string.auto_measure_explained), style = MaterialTheme.typography.bodySmall)
            }
            Switch(
                checked = auto,
                onCheckedChange = { on ->
                    auto = on
                    model.setAutoMeasure(controller, on)
                    if (on && Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU &&
                        ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) !=
                        PackageManager.PERMISSION_GRANTED
                    ) {
                        notifications.launch(Manifest.permission.POST_NOTIFICATIONS)
                    }
                },
            )
        }
        AreaRow(state.area, search = controller::searchAreas, onJoin = controller::joinCommune)
        Text(stringResource(R.string.history), style = MaterialTheme.typography.titleMedium)
        LazyColumn(verticalArrangement = Arrangement.spacedBy(8.dp)) {
            items(state.recent, key = { it.id }) { m ->
                Card(Modifier.fillMaxWidth()) {
                    Column(Modifier.padding(8.dp)) {
                        Text(m.startedAt.toString(), style = MaterialTheme.typography.bodySmall)
                        Figures(m.latency?.medianMs, m.download?.mbps, m.upload?.mbps)
                    }
                }
            }
        }
    }
}

@Composable
private fun Figures(latencyMs: Double?, downMbps: Double?, upMbps: Double?) {
    fun f(v: Double?) = v?.let { "%.1f".format(it) } ?: "–"
    Row(horizontalArrangement = Arrangement.spacedBy(16.dp)) {
        Text(stringResource(R.string.latency_ms, f(latencyMs)))
        Text(stringResource(R.string.download_mbps, f(downMbps)))
        Text(stringResource(R.string.upload_mbps, f(upMbps)))
    }
}

/**
 * The campaign area: the participant searches the official catalogue (the engine's
 * search, accents optional), taps their commune, may add a hamlet or organisation,
 * and joins once; then the area is shown. Tapping a province narrows the search to it.
 */
@Composable
private fun AreaRow(
    area: Area?,
    search: (String, Int) -> List<OfficialArea>,
    onJoin: (UInt, String) -> ErrorMessage?,
) {
    if (area != null) {
        val parts = listOfNotNull(area.province, area.district, area.commune, area.hamlet, area.organisation)
        Text(stringResource(R.string.area_joined, parts.joinToString(" / ")))
        return
    }
    var query by remember { mutableStateOf("") }
    var chosen by remember { mutableStateOf<OfficialArea?>(null) }
    var hamlet by remember { mutableStateOf("") }
    var error by remember { mutableStateOf<ErrorMessage?>(null) }
    val found = remember(query) { search(query, AREA_RESULTS) }
    Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
        Text(stringResource(R.string.area))
        Text(stringResource(R.string.area_explained), style = MaterialTheme.typography.bodySmall)
        val pick = chosen
        if (pick == null) {
            OutlinedTextField(
                value = query,
                onValueChange = { query = it },
                singleLine = true,
                label = { Text(stringResource(R.string.area_search)) },
                modifier = Modifier.fillMaxWidth(),
            )
            if (query.isNotBlank() && found.isEmpty()) {
                Text(stringResource(R.string.area_no_match), style = MaterialTheme.typography.bodySmall)
            }
            found.forEach { match ->
                TextButton(onClick = {
                    if (match.level == "commune") chosen = match else query = match.name
                }) { Text(match.label) }
            }
        } else {
            Text(pick.label, style = MaterialTheme.typography.titleSmall)
            OutlinedTextField(
                value = hamlet,
                onValueChange = { hamlet = it },
                singleLine = true,
                label = { Text(stringResource(R.string.area_hamlet)) },
                modifier = Modifier.fillMaxWidth(),
            )
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Button(onClick = { error = onJoin(pick.code, hamlet) }) { Text(stringResource(R.string.area_join)) }
                OutlinedButton(onClick = { chosen = null }) { Text(stringResource(R.string.area_change)) }
            }
        }
        error?.let { Text(errorText(it), color = MaterialTheme.colorScheme.error) }
    }
}

/** Explains, then asks for, READ_PHONE_STATE (radio technology of the result). */
@Composable
private fun PhonePermission() {
    val context = LocalContext.current
    var granted by remember {
        mutableStateOf(
            ContextCompat.checkSelfPermission(context, Manifest.permission.READ_PHONE_STATE) ==
                PackageManager.PERMISSION_GRANTED,
        )
    }
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted = it }
    if (!granted) {
        Card(Modifier.fillMaxWidth()) {
            Column(Modifier.padding(8.dp)) {
                Text(stringResource(R.string.permission_phone_explained))
                OutlinedButton(onClick = { launcher.launch(Manifest.permission.READ_PHONE_STATE) }) {
                    Text(stringResource(R.string.permission_allow))
                }
            }
        }
    }
}

private fun phaseLabel(phase: Phase): Int = when (phase) {
    Phase.LATENCY -> R.string.phase_latency
    Phase.DOWNLOAD -> R.string.phase_download
    Phase.UPLOAD -> R.string.phase_upload
}

/** The translated text of an engine error, or its English text for a new code. */
@Composable
private fun errorText(e: ErrorMessage): String = ErrorTexts.of(LocalContext.current, e)
