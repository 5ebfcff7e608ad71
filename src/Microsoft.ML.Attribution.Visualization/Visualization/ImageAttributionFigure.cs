using Microsoft.ML.Attribution.Tensors;
using SkiaSharp;

namespace Microsoft.ML.Attribution.Visualization;

/// <summary>One cell of an <see cref="ImageAttributionFigure"/>: how to draw it and which attributions it shows.</summary>
/// <param name="Method">How the cell is drawn.</param>
/// <param name="Attributions">The attributions it shows; null only for <see cref="ImageVisualizationMethod.OriginalImage"/>.</param>
public sealed record ImageFigureCell(ImageVisualizationMethod Method, NdArray<float>? Attributions = null);

/// <summary>One row of an <see cref="ImageAttributionFigure"/>: a label on the left, the image, and its cells left to right.</summary>
/// <param name="Label">Drawn left of the row (an image's name, or a method's).</param>
/// <param name="Image">The image every cell but a heat map draws on; null when every cell is a heat map.</param>
/// <param name="Cells">The cells, one per column.</param>
public sealed record ImageFigureRow(string Label, NdArray<float>? Image, IReadOnlyList<ImageFigureCell> Cells);

/// <summary>Options shared by every cell of an <see cref="ImageAttributionFigure"/>; defaults as Captum's.</summary>
public sealed record ImageFigureOptions
{
    /// <summary>Titles above the columns; null or shorter than the rows for no title on the remaining columns.</summary>
    public IReadOnlyList<string>? ColumnTitles { get; init; }

    /// <summary>A title above the whole figure; null for none.</summary>
    public string? Title { get; init; }

    /// <summary>Which attributions every cell shows; one sign so that the single colour bar holds for all. Default: <see cref="VisualizeSign.All"/>.</summary>
    public VisualizeSign Sign { get; init; } = VisualizeSign.All;

    /// <summary>Axis order of rank-3 attributions and images. Default: <see cref="ImageLayout.Chw"/>.</summary>
    public ImageLayout Layout { get; init; } = ImageLayout.Chw;

    /// <summary>Outlier percentage of <see cref="ImageAttributionRenderer.Normalize"/>, applied to each cell's map on its own. Default: 2.</summary>
    public double OutlierPercent { get; init; } = 2;

    /// <summary>The colour map; null for Captum's default for <see cref="Sign"/>.</summary>
    public ColorMap? ColorMap { get; init; }

    /// <summary>Opacity of blended heat maps. Default: 0.5.</summary>
    public double AlphaOverlay { get; init; } = 0.5;

    /// <summary>Each attribution pixel becomes a Scale × Scale block. Default: 1.</summary>
    public int Scale { get; init; } = 1;

    /// <summary>Draw the shared colour bar under the grid. Default: true.</summary>
    public bool ShowColorBar { get; init; } = true;
}

/// <summary>
/// A grid of image attributions in one picture (rows are images or methods, columns e.g. original | heat map |
/// blended), with column titles, row labels and one colour bar for the whole figure. Every cell is normalised on
/// its own, as Captum's <c>visualize_image_attr</c> does, so the bar reads in normalised units (−1…1 or 0…1).
/// </summary>
public static class ImageAttributionFigure
{
    internal const int Gap = 6, HeaderBand = 18, TitleBand = 22, LabelPad = 8, BarGap = 8, MaxBarWidth = 240;

    /// <summary>Where things are in a figure, in pixels; internal so that tests read cells by position.</summary>
    internal sealed record FigureLayout(int Width, int Height, int GridLeft, int GridTop, int CellWidth, int CellHeight, int ColumnWidth, int BarTop, int BarWidth)
    {
        /// <summary>Top-left pixel of a cell: centred in its column, which is widened to fit its title.</summary>
        public (int X, int Y) CellOrigin(int row, int column) =>
            (GridLeft + column * (ColumnWidth + Gap) + (ColumnWidth - CellWidth) / 2, GridTop + row * (CellHeight + Gap));
    }

    /// <summary>Draws the figure as a bitmap the caller disposes.</summary>
    /// <exception cref="ArgumentException">No rows, rows of different lengths, or a cell that lacks what its method needs.</exception>
    public static SKBitmap RenderBitmap(IReadOnlyList<ImageFigureRow> rows, ImageFigureOptions? options = null)
    {
        options ??= new ImageFigureOptions();
        var cells = RenderCells(rows, options);
        using var font = new SKFont(SKTypeface.FromFamilyName("sans-serif") ?? SKTypeface.Default, 12);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        var text = new ImageAttributionRenderer.TextStyle(font, paint);
        var layout = Measure(rows, options, cells, text);

        var bitmap = new SKBitmap(new SKImageInfo(layout.Width, layout.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        if (options.Title is { } title) ImageAttributionRenderer.DrawCentered(canvas, text, title, 0, layout.Width, TitleBand - 6);
        var columnTitles = options.ColumnTitles ?? [];
        for (int c = 0; c < Math.Min(columnTitles.Count, rows[0].Cells.Count); c++)
        {
            var (x, _) = layout.CellOrigin(0, c);
            ImageAttributionRenderer.DrawCentered(canvas, text, columnTitles[c], x - (layout.ColumnWidth - layout.CellWidth) / 2, layout.ColumnWidth, layout.GridTop - 5);
        }
        for (int r = 0; r < rows.Count; r++)
        {
            var (_, y) = layout.CellOrigin(r, 0);
            text.Draw(canvas, rows[r].Label, LabelPad / 2, y + layout.CellHeight / 2f + 4);
            for (int c = 0; c < rows[r].Cells.Count; c++)
            {
                var (w, h, rgba) = cells[r][c];
                var (x, cy) = layout.CellOrigin(r, c);
                using var panel = ImageAttributionRenderer.FromRgba(w, h, rgba);
                canvas.DrawBitmap(panel, x, cy);
            }
        }
        if (options.ShowColorBar)
        {
            var barOptions = new ImageAttributionOptions { Sign = options.Sign, ColorMap = options.ColorMap };
            ImageAttributionRenderer.DrawColorBar(canvas, text, barOptions, layout.GridLeft, layout.BarTop, layout.BarWidth);
        }
        canvas.Flush();
        return bitmap;
    }

    /// <summary>Like <see cref="RenderBitmap"/>, encoded as PNG.</summary>
    public static byte[] RenderPng(IReadOnlyList<ImageFigureRow> rows, ImageFigureOptions? options = null)
    {
        using var bitmap = RenderBitmap(rows, options);
        return ImageAttributionRenderer.EncodePng(bitmap);
    }

    /// <summary>Writes <see cref="RenderPng"/>'s picture to a file.</summary>
    public static void SavePng(string path, IReadOnlyList<ImageFigureRow> rows, ImageFigureOptions? options = null) =>
        File.WriteAllBytes(path, RenderPng(rows, options));

    /// <summary>The layout <see cref="RenderBitmap"/> uses, for tests.</summary>
    internal static FigureLayout LayoutOf(IReadOnlyList<ImageFigureRow> rows, ImageFigureOptions options)
    {
        var cells = RenderCells(rows, options);
        using var font = new SKFont(SKTypeface.FromFamilyName("sans-serif") ?? SKTypeface.Default, 12);
        using var paint = new SKPaint();
        return Measure(rows, options, cells, new ImageAttributionRenderer.TextStyle(font, paint));
    }

    private static FigureLayout Measure(IReadOnlyList<ImageFigureRow> rows, ImageFigureOptions o, List<(int W, int H, byte[] Rgba)[]> cells, ImageAttributionRenderer.TextStyle text)
    {
        int cellW = cells.Max(r => r.Max(c => c.W)), cellH = cells.Max(r => r.Max(c => c.H));
        int columns = rows[0].Cells.Count;
        int labelW = (int)Math.Ceiling(rows.Max(r => text.Measure(r.Label))) + LabelPad;
        int top = (o.Title is null ? 0 : TitleBand) + (o.ColumnTitles is { Count: > 0 } ? HeaderBand : Gap);
        int titleW = (int)Math.Ceiling((o.ColumnTitles ?? []).Take(columns).Select(t => text.Measure(t)).DefaultIfEmpty(0).Max());
        int columnW = Math.Max(cellW, titleW + Gap);
        int gridW = columns * columnW + (columns - 1) * Gap;
        int gridH = rows.Count * cellH + (rows.Count - 1) * Gap;
        int barTop = top + gridH + BarGap;
        int height = o.ShowColorBar ? barTop + ImageAttributionRenderer.BarHeight + ImageAttributionRenderer.BarLabelBand + 2 : top + gridH + Gap;
        // Column titles wider than the grid would be cut off; widen the canvas instead.
        int width = Math.Max(labelW + gridW + Gap, o.Title is null ? 0 : (int)Math.Ceiling(text.Measure(o.Title)) + 2 * Gap);
        return new FigureLayout(width, height, labelW, top, cellW, cellH, columnW, barTop, Math.Min(gridW, MaxBarWidth));
    }

    private static List<(int W, int H, byte[] Rgba)[]> RenderCells(IReadOnlyList<ImageFigureRow> rows, ImageFigureOptions o)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(o);
        if (rows.Count == 0) throw new ArgumentException("A figure needs at least one row.", nameof(rows));
        int columns = rows[0].Cells?.Count ?? 0;
        if (columns == 0) throw new ArgumentException($"Row '{rows[0].Label}' has no cells.", nameof(rows));
        var result = new List<(int, int, byte[])[]>();
        foreach (var row in rows)
        {
            ArgumentNullException.ThrowIfNull(row, nameof(rows));
            if (row.Cells is null || row.Cells.Count != columns)
                throw new ArgumentException($"Row '{row.Label}' has {row.Cells?.Count ?? 0} cells; the first row has {columns}.", nameof(rows));
            var drawn = new (int, int, byte[])[columns];
            for (int c = 0; c < columns; c++)
            {
                var cell = row.Cells[c];
                var attributions = cell.Attributions;
                if (attributions is null)
                {
                    if (cell.Method != ImageVisualizationMethod.OriginalImage)
                        throw new ArgumentException($"Row '{row.Label}', column {c}: method {cell.Method} needs attributions.", nameof(rows));
                    if (row.Image is null)
                        throw new ArgumentException($"Row '{row.Label}', column {c}: OriginalImage needs the row's image.", nameof(rows));
                    attributions = ZerosLike(row.Image, o.Layout);
                }
                var panelOptions = new ImageAttributionOptions
                {
                    Method = cell.Method, Sign = o.Sign, Layout = o.Layout, OutlierPercent = o.OutlierPercent,
                    ColorMap = o.ColorMap, AlphaOverlay = o.AlphaOverlay, Scale = o.Scale,
                };
                try
                {
                    drawn[c] = ImageAttributionRenderer.RenderPanel(attributions, row.Image, panelOptions);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"Row '{row.Label}', column {c}: {e.Message}", nameof(rows), e);
                }
            }
            result.Add(drawn);
        }
        return result;
    }

    private static NdArray<float> ZerosLike(NdArray<float> image, ImageLayout layout)
    {
        var shape = ImageAttributionRenderer.DropBatch(image.Shape, "Image");
        var (_, h, w) = shape.Length == 2 ? (1, shape[0], shape[1]) : ImageAttributionRenderer.Dims(shape, layout, "Image");
        return new NdArray<float>(h, w);
    }
}
