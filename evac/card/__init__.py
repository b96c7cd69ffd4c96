"""My Number card (券面事項入力補助AP): reading the 基本4情報 behind a `transmit(apdu) -> (data, sw)` seam."""
