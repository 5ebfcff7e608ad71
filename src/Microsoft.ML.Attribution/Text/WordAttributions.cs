namespace Microsoft.ML.Attribution.Text;

/// <summary>One word of a text with the attribution of the tokens it was split into.</summary>
/// <param name="Word">The word as it appears in the text.</param>
/// <param name="Offset">Its character offset in the text.</param>
/// <param name="Attribution">The sum of its tokens' attributions.</param>
public sealed record WordAttribution(string Word, int Offset, float Attribution);

/// <summary>
/// Merges token attributions back into words: each token (a character span of the text, as WordPiece tokenizers report
/// them) adds its value to the whitespace-delimited word it overlaps. Tokens without a span ([CLS], [SEP], padding)
/// are left out.
/// </summary>
public static class WordAttributions
{
    /// <summary>The words of <paramref name="text"/>, in order, with their summed token attributions.</summary>
    /// <param name="text">The text the token spans refer to (e.g. the tokenizer's normalized text).</param>
    /// <param name="tokenSpans">Character offset and length of each token; length 0 for special tokens.</param>
    /// <param name="tokenAttributions">One value per token, aligned with <paramref name="tokenSpans"/>.</param>
    public static IReadOnlyList<WordAttribution> Merge(string text, IReadOnlyList<(int Offset, int Length)> tokenSpans, ReadOnlySpan<float> tokenAttributions)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokenSpans);
        if (tokenAttributions.Length < tokenSpans.Count)
            throw new ArgumentException($"{tokenAttributions.Length} attributions for {tokenSpans.Count} tokens.");
        var words = new List<(int Start, int End)>();
        for (int i = 0; i < text.Length;)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
            if (i > start) words.Add((start, i));
        }
        var sums = new double[words.Count];
        for (int t = 0; t < tokenSpans.Count; t++)
        {
            var (offset, length) = tokenSpans[t];
            if (length <= 0) continue;
            int w = words.FindIndex(x => offset < x.End && offset + length > x.Start);
            if (w < 0) throw new ArgumentException($"Token {t} (offset {offset}, length {length}) lies outside every word of the text.");
            sums[w] += tokenAttributions[t];
        }
        return words.Select((x, i) => new WordAttribution(text[x.Start..x.End], x.Start, (float)sums[i])).ToList();
    }
}
