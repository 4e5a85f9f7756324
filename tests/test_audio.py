"""Sound: the whole track at its native rate, cut to the selected frames' span, and silence of
the clip's length when there is no track."""
from __future__ import annotations

import wave

import numpy as np
import pytest

from pack_loader import pack_module

audio_mod = pack_module("core.media.audio")
errors = pack_module("core.errors")
video_maker = pack_module("sandbox.video_maker")

SHOTS = [("low tone", 1), ("higher tone", 1)]   # 440 Hz for 1 s, then 554.37 Hz


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    return {
        "sound": video_maker.make_clip(folder / "sound.mp4", duration=2, shots=SHOTS,
                                       resolution_scale=0.125, sound=True),
        "silent": video_maker.make_clip(folder / "silent.mp4", duration=2,
                                        resolution_scale=0.125, sound=False),
    }


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


def test_whole_track_at_native_rate(clips):
    track = audio_mod.decode_audio(clips["sound"])
    assert track.sample_rate == 48000 and not track.is_silent_fill
    assert track.samples.dtype == np.float32 and track.samples.ndim == 2
    assert track.samples.shape[0] == 2
    # two seconds of sound (AAC may add up to one frame of padding at the end)
    assert 2 * 48000 <= track.samples.shape[1] <= 2 * 48000 + 2048
    assert 0.1 < np.abs(track.samples).max() <= 1.0
    # the shots' tones, in order, at the right times: nothing shifted or resampled
    assert dominant_hz(track.samples[0, 12000:36000], 48000) == pytest.approx(440, abs=5)
    assert dominant_hz(track.samples[0, 60000:84000], 48000) == pytest.approx(554.37, abs=5)


def test_span_keeps_sound_in_step_with_selected_frames(clips):
    track = audio_mod.decode_audio(clips["sound"], start=1.0, end=1.5)
    assert track.samples.shape == (2, 24000)
    assert dominant_hz(track.samples[0], 48000) == pytest.approx(554.37, abs=5)
    whole = audio_mod.decode_audio(clips["sound"]).samples
    np.testing.assert_array_equal(track.samples, whole[:, 48000:72000])


def test_span_past_the_end_of_the_sound_is_padded_with_silence(clips):
    track = audio_mod.decode_audio(clips["sound"], start=1.5, end=3.0)
    assert track.samples.shape == (2, 72000)
    assert np.abs(track.samples[:, -1000:]).max() == 0.0


def test_no_sound_gives_silence_of_the_clip_length(clips):
    track = audio_mod.decode_audio(clips["silent"], duration=2.0)
    assert track.is_silent_fill and track.sample_rate == 48000
    assert track.samples.shape == (2, 96000) and track.samples.dtype == np.float32
    assert not track.samples.any()
    # without an explicit duration the container's is used
    assert audio_mod.decode_audio(clips["silent"]).samples.shape == (2, 96000)


def test_no_sound_with_span_gives_silence_of_the_span(clips):
    track = audio_mod.decode_audio(clips["silent"], duration=2.0, start=0.5, end=1.25)
    assert track.is_silent_fill and track.samples.shape == (2, 36000)


def test_packed_integer_mono_is_converted_to_float_at_its_rate(tmp_path):
    rate = 22050
    tone = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(rate) / rate) * 32767).astype(np.int16)
    path = tmp_path / "mono.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(tone.tobytes())
    track = audio_mod.decode_audio(path)
    assert track.sample_rate == rate and track.samples.shape == (1, rate)
    np.testing.assert_allclose(track.samples[0], tone / 32768.0, atol=1e-4)


def test_packed_stereo_keeps_channels_apart(tmp_path):
    rate = 16000
    left = np.full(rate, 8000, np.int16)
    right = np.full(rate, -16000, np.int16)
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.stack([left, right], axis=1).tobytes())
    samples = audio_mod.decode_audio(path).samples
    assert samples.shape == (2, rate)
    np.testing.assert_allclose(samples[0], 8000 / 32768)
    np.testing.assert_allclose(samples[1], -16000 / 32768)


def test_non_media_file_is_a_decode_error(tmp_path):
    fake = tmp_path / "page.mp4"
    fake.write_text("<!DOCTYPE html><html><body>Not found</body></html>")
    with pytest.raises(errors.DecodeError, match="page.mp4"):
        audio_mod.decode_audio(fake)


@pytest.mark.parametrize("name", ["sound", "silent"])
@pytest.mark.parametrize("end", [2.0, 1.5, 0.04, 2.5])
def test_the_sound_decoded_beside_the_frames_then_cut_is_the_span_decoded_alone(clips, name, end):
    """The whole track decoded ahead (while the frames decode) and cut to the frames' span must
    be sample for sample what decoding that span alone gives; a span past the track is decoded
    alone."""
    cut = audio_mod.SoundAhead(clips[name]).span(duration=2.0, start=0.0, end=end)
    alone = audio_mod.decode_audio(clips[name], duration=2.0, start=0.0, end=end)
    assert (cut.sample_rate, cut.is_silent_fill) == (alone.sample_rate, alone.is_silent_fill)
    np.testing.assert_array_equal(cut.samples, alone.samples)
    assert cut.samples.flags.c_contiguous


def test_a_sound_that_cannot_be_decoded_ahead_reports_its_error_at_the_cut(tmp_path):
    fake = tmp_path / "page.mp4"
    fake.write_text("<html>sign in</html>")
    ahead = audio_mod.SoundAhead(fake)
    with pytest.raises(errors.DecodeError, match="page.mp4 could not be opened to read its sound"):
        ahead.span(duration=2.0, start=0.0, end=1.0)
